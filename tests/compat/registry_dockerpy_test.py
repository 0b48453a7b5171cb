#!/usr/bin/python3
"""Compat test: Debian's docker-py 5.0.3 (python3-docker) pulls and pushes through a private
daemon, against Debian's docker-registry (distribution 2.8) on 127.0.0.1.

    registry_dockerpy_test.py     starts a private daemon (lib/daemon.sh) and a registry
                                  (lib/registry.sh) and runs here against both

Covers: images.push (stream=True, decode=True: the progress lines docker-py and compose parse,
the aux {"Tag","Digest","Size"} line), images.pull (returns the Image; the repo digest), the
low-level api.pull stream (status lines, "Digest:"), pull by digest, ImageNotFound / APIError
(404) for a missing tag or repository, client.login against an htpasswd registry (a wrong
password is an APIError 401), push and pull with auth_config.
Output: one "ok"/"FAIL"/"skip" line per check; exit 0 all passed, 1 a failure, 77 skipped.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def relaunch_with_daemon():
    script = (
        'source "$1/lib/daemon.sh"; source "$1/lib/containers.sh"; source "$1/lib/registry.sh"; '
        'compat_preflight; command -v docker-registry >/dev/null || compat_skip_or_fail '
        '"docker-registry not installed"; work=$(mktemp -d /tmp/berth-test-compat-regpy.XXXXXX); '
        'compat_cleanup_hook() { compat_registries_stop; rm -rf "$work"; }; '
        'compat_daemon_init; compat_daemon_start || { echo "FAIL: daemon start"; exit 1; }; '
        'compat_htpasswd "$work/htpasswd" pyuser pypass; '
        'compat_registry_start distribution plain "$work" || exit 1; plain=$REG_ADDR; '
        'compat_registry_start distribution auth "$work" "$work/htpasswd" || exit 1; '
        'DOCKER_HOST=$COMPAT_HOST compat_busybox_image docker "$work" >/dev/null || '
        '{ echo "FAIL: import busybox"; exit 1; }; '
        '/usr/bin/python3 "$1/registry_dockerpy_test.py" --host "$COMPAT_HOST" '
        '--registry "$plain" --auth-registry "$REG_ADDR" --kind "$COMPAT_KIND"'
    )
    return subprocess.call(['bash', '-c', script, 'bash', HERE])


class Checks:
    def __init__(self):
        self.passed = self.failed = 0
        self.failed_names = []

    def ok(self, name):
        print(f'ok   {name}', flush=True)
        self.passed += 1

    def bad(self, name, *details):
        print(f'FAIL {name}', flush=True)
        for d in details:
            for line in str(d).splitlines() or ['']:
                print(f'       | {line}', flush=True)
        self.failed += 1
        self.failed_names.append(name)

    def check(self, name, cond, *details):
        if cond:
            self.ok(name)
        else:
            self.bad(name, *details)
        return cond


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host')
    ap.add_argument('--registry')
    ap.add_argument('--auth-registry')
    ap.add_argument('--kind', default='berthd')
    a = ap.parse_args()
    if not a.host:
        return relaunch_with_daemon()
    import docker  # Debian's python3-docker
    c = docker.DockerClient(base_url=a.host, version='1.41', timeout=120)
    t = Checks()
    r = a.registry

    base = c.images.get('busybox:latest')
    base.tag(f'{r}/py/busybox', 'v1')
    lines = list(c.images.push(f'{r}/py/busybox', tag='v1', stream=True, decode=True))
    statuses = [l.get('status', '') for l in lines]
    errors = [l for l in lines if 'error' in l or 'errorDetail' in l]
    t.check('push: no error line', not errors, errors)
    t.check('push: refers to the repository',
            any(s == f'The push refers to repository [{r}/py/busybox]' for s in statuses), statuses)
    t.check('push: a layer Pushed', 'Pushed' in statuses, statuses)
    aux = [l['aux'] for l in lines if 'aux' in l]
    t.check('push: aux line with Tag, Digest, Size',
            len(aux) == 1 and aux[0].get('Tag') == 'v1' and
            re.fullmatch(r'sha256:[0-9a-f]{64}', aux[0].get('Digest', '')) and
            aux[0].get('Size', 0) > 0, lines)
    digest = aux[0]['Digest'] if aux else ''

    again = list(c.images.push(f'{r}/py/busybox', tag='v1', stream=True, decode=True))
    t.check('push again: Layer already exists',
            any(l.get('status') == 'Layer already exists' for l in again), again)

    c.images.remove(f'{r}/py/busybox:v1')
    img = c.images.pull(f'{r}/py/busybox', tag='v1')
    t.check('images.pull returns the image', img.id == base.id, img.id, base.id)
    t.check('pulled image has the repo digest', f'{r}/py/busybox@{digest}' in img.attrs['RepoDigests'],
            img.attrs['RepoDigests'])
    stream = list(c.api.pull(f'{r}/py/busybox', tag='v1', stream=True, decode=True))
    st = [l.get('status', '') for l in stream]
    t.check('api.pull stream: Digest line', f'Digest: {digest}' in st, st)
    t.check('api.pull stream: up to date', f'Status: Image is up to date for {r}/py/busybox:v1' in st, st)
    by_digest = c.images.pull(f'{r}/py/busybox@{digest}')
    t.check('pull by digest', by_digest.id == base.id, by_digest.id)

    try:
        c.images.pull(f'{r}/py/busybox', tag='nope')
        t.bad('pull of a missing tag raises')
    except docker.errors.NotFound as e:
        t.check('pull of a missing tag: NotFound with moby text', 'manifest for' in str(e) and
                'not found' in str(e), str(e))
    except docker.errors.APIError as e:
        t.bad('pull of a missing tag: NotFound', f'{type(e).__name__}: {e}')

    ar = a.auth_registry
    try:
        c.login(username='pyuser', password='wrong', registry=ar, reauth=True)
        t.bad('login with a wrong password raises')
    except docker.errors.APIError as e:
        t.check('login with a wrong password: 401', e.status_code == 401, e.status_code, str(e))
    res = c.login(username='pyuser', password='pypass', registry=ar, reauth=True)
    t.check('login: Login Succeeded', res.get('Status') == 'Login Succeeded', res)
    base.tag(f'{ar}/py/private', 'p1')
    auth = {'username': 'pyuser', 'password': 'pypass'}
    pl = list(c.images.push(f'{ar}/py/private', tag='p1', stream=True, decode=True, auth_config=auth))
    t.check('push with auth_config', any('aux' in l for l in pl) and
            not any('error' in l for l in pl), pl)
    c.images.remove(f'{ar}/py/private:p1')
    img2 = c.images.pull(f'{ar}/py/private', tag='p1', auth_config=auth)
    t.check('pull with auth_config', img2.id == base.id, img2.id)
    c.images.remove(f'{ar}/py/private:p1')
    # A new client: `c` keeps what login() was given and sends it with every pull.
    anon = docker.DockerClient(base_url=a.host, version='1.41', timeout=120)
    try:
        anon.images.pull(f'{ar}/py/private', tag='p1')
        t.bad('pull without credentials raises')
    except docker.errors.APIError as e:
        t.check('pull without credentials: an error', e.status_code in (401, 403, 404, 500),
                e.status_code, str(e))

    print(f'registry_dockerpy_test: {t.passed} ok, {t.failed} failed (daemon: {a.kind})')
    for n in t.failed_names:
        print(f'  failed: {n}')
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
