#!/usr/bin/python3
"""Compat test: Debian's docker-py 5.0.3 (python3-docker) drives a private daemon's image API.

    images_dockerpy_test.py                  starts a private daemon through lib/daemon.sh
                                             (BERTH_COMPAT_DAEMON=berthd|dockerd) and runs here
    images_dockerpy_test.py --host unix://S  runs against a daemon that is already up

Covers what compose and docker-py users call: version/ping/info/df, api.import_image (file,
raw data, chunked stream), images.list (name, dangling and label filters in docker-py's list
form), images.get, history, tag, Image.save (by ID and named: GET /images/{name}/get), load,
remove (untag, conflict, force), prune, ImageNotFound on missing images, and the image events.
Run by /usr/bin/python3 on purpose: Debian's python3-docker is the client under test, not
whatever docker package another python on PATH has.
Output: one "ok"/"FAIL"/"skip" line per check; exit 0 all passed, 1 a failure, 77 skipped.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def relaunch_with_daemon():
    """Starts a private daemon with lib/daemon.sh and runs this script against it; the bash
    parent stays alive so that its EXIT trap stops the daemon and removes its dirs."""
    script = (
        'source "$1/lib/daemon.sh"; compat_preflight; compat_daemon_init; '
        'compat_daemon_start || { echo "FAIL: daemon start"; exit 1; }; '
        '/usr/bin/python3 "$1/images_dockerpy_test.py" --host "$COMPAT_HOST" '
        '--kind "$COMPAT_KIND" --data-root "$COMPAT_DATA_ROOT"'
    )
    return subprocess.call(['bash', '-c', script, 'bash', HERE])


class Checks:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
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

    def skip(self, name, reason):
        print(f'skip {name} ({reason})', flush=True)
        self.skipped += 1

    def eq(self, name, got, want):
        if got == want:
            self.ok(name)
        else:
            self.bad(name, f'got:  {got!r}', f'want: {want!r}')
        return got == want

    def true(self, name, cond, *details):
        if cond:
            self.ok(name)
        else:
            self.bad(name, *details)
        return bool(cond)

    def call(self, label, fn, /, *args, **kwargs):
        """Runs fn; a failure is reported with the exception. Returns (ok, result)."""
        try:
            result = fn(*args, **kwargs)
        except Exception as e:  # report every client or server error as this check's failure
            self.bad(label, f'{type(e).__name__}: {e}')
            return False, None
        self.ok(label)
        return True, result

    def raises(self, label, exc_type, fn, /, *args, **kwargs):
        try:
            fn(*args, **kwargs)
        except exc_type as e:
            self.ok(label)
            return e
        except Exception as e:
            self.bad(label, f'want {exc_type.__name__}, got {type(e).__name__}: {e}')
            return None
        self.bad(label, f'want {exc_type.__name__}, nothing was raised')
        return None


def make_rootfs_tar(path, *extra):
    subprocess.run(['bash', os.path.join(HERE, 'make-rootfs-tar.sh'), path, *extra], check=True)


def import_id(result):
    """The ID from import_image's answer: JSON lines, the last one {"status":"sha256:…"}."""
    last = [line for line in result.strip().splitlines() if line.strip()][-1]
    return json.loads(last)['status']


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return 'sha256:' + h.hexdigest()


def read_member(tar_path, name):
    with tarfile.open(tar_path) as t:
        for m in t.getmembers():
            if m.name in (name, './' + name):
                return t.extractfile(m).read()
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host')
    parser.add_argument('--kind', default=os.environ.get('BERTH_COMPAT_DAEMON', 'berthd'))
    parser.add_argument('--data-root', default='')
    args = parser.parse_args()
    if not args.host:
        return relaunch_with_daemon()

    try:
        import docker
    except ImportError:
        print('SKIPPED: python3-docker missing (apt-get install python3-docker)')
        return 77
    print(f'docker-py {docker.__version__} ({docker.__file__}), daemon {args.kind} at {args.host}')
    berthd = args.kind == 'berthd'
    c = Checks()
    work = tempfile.mkdtemp(prefix='berth-test-compat-py.')
    try:
        run(c, docker, args.host, berthd, work)
    finally:
        subprocess.run(['rm', '-rf', work])
    print(f'images_dockerpy_test: {c.passed} ok, {c.failed} failed, {c.skipped} skipped '
          f'(daemon: {args.kind})')
    for n in c.failed_names:
        print(f'  failed: {n}')
    return 1 if c.failed else 0


def run(c, docker, host, berthd, work):
    from docker.errors import APIError, ImageNotFound

    client = docker.DockerClient(base_url=host, version='auto', timeout=120)
    api = client.api
    rootfs = os.path.join(work, 'rootfs.tar')
    make_rootfs_tar(rootfs)
    diff_id = sha256_file(rootfs)
    start = int(time.time())

    # --- version, ping, info ----------------------------------------------------------------
    _, version = c.call('version()', client.version)
    version = version or {}
    if berthd:
        c.eq('version ApiVersion is 1.44', version.get('ApiVersion'), '1.44')
    else:
        c.true('version ApiVersion', re.fullmatch(r'1\.\d+', str(version.get('ApiVersion'))),
               f'got {version.get("ApiVersion")!r}')
    c.eq('client negotiated the server version', api._version, version.get('ApiVersion'))
    c.eq('ping() is True', client.ping(), True)
    _, info = c.call('info()', client.info)
    c.eq('info Images on a fresh daemon', (info or {}).get('Images'), 0)

    # --- import ---------------------------------------------------------------------------------
    ok, res = c.call('api.import_image(src=file, repository, tag, changes)', api.import_image,
                     src=rootfs, repository='compat/py', tag='1',
                     changes=['ENV A=b', 'CMD ["/bin/sh"]', 'LABEL com.example.py=yes'])
    image_id = None
    if ok:
        try:
            image_id = import_id(res)
        except (ValueError, KeyError, IndexError) as e:
            c.bad('import answer ends with {"status":"sha256:…"}', res, e)
    c.true('import answer is an image ID', image_id and re.fullmatch(r'sha256:[0-9a-f]{64}', image_id),
           f'got {image_id!r}')
    with open(rootfs, 'rb') as f:
        data = f.read()
    ok, res = c.call('api.import_image_from_data(bytes)', api.import_image_from_data, data,
                     repository='compat/pydata', tag='latest')
    if ok:
        c.true('import from data: an image ID', re.fullmatch(r'sha256:[0-9a-f]{64}', import_id(res)), res)

    def chunks():
        for i in range(0, len(data), 65536):
            yield data[i:i + 65536]
    ok, res = c.call('api.import_image(chunked stream_src)', api.import_image, src=chunks(),
                     repository='compat/pychunked', tag='1', stream_src=True)
    if ok:
        c.true('import chunked: an image ID', re.fullmatch(r'sha256:[0-9a-f]{64}', import_id(res)), res)

    # --- list, get ----------------------------------------------------------------------------
    ok, images = c.call('images.list()', client.images.list)
    tags = sorted(t for i in images or [] for t in i.tags)
    c.eq('images.list() tags', tags,
         ['compat/py:1', 'compat/pychunked:1', 'compat/pydata:latest'])
    ok, images = c.call('images.list(name=)', client.images.list, name='compat/py')
    c.eq('images.list(name=compat/py)', [i.id for i in images or []], [image_id])
    ok, images = c.call('images.list(filters label, list form)', client.images.list,
                        filters={'label': ['com.example.py=yes']})
    c.eq('images.list(filters={"label": [k=v]})', [i.id for i in images or []], [image_id])
    ok, images = c.call('images.list(filters dangling)', client.images.list,
                        filters={'dangling': True})
    c.eq('images.list(filters={"dangling": True}): none yet', [i.id for i in images or []], [])
    raw = api.images(name='compat/py')
    c.eq('api.images() fields', sorted(k for k in ('Id', 'RepoTags', 'Created', 'Size', 'Labels')
                                       if k in (raw[0] if raw else {})),
         ['Created', 'Id', 'Labels', 'RepoTags', 'Size'])
    c.eq('api.images(quiet=True)', api.images(name='compat/py', quiet=True), [image_id])

    ok, img = c.call('images.get(name:tag)', client.images.get, 'compat/py:1')
    if img:
        c.eq('Image.id', img.id, image_id)
        c.eq('Image.short_id', img.short_id, image_id[:17])
        c.eq('Image.tags', img.tags, ['compat/py:1'])
        c.eq('Image.labels', img.labels, {'com.example.py': 'yes'})
        c.eq('Image.attrs Config.Env', img.attrs.get('Config', {}).get('Env'), ['A=b'])
        c.eq('Image.attrs Config.Cmd', img.attrs.get('Config', {}).get('Cmd'), ['/bin/sh'])
        c.eq('Image.attrs RootFS.Layers', img.attrs.get('RootFS', {}).get('Layers'), [diff_id])
        c.true('Image.attrs ContainerConfig is a dict (compose reads Volumes from it)',
               isinstance(img.attrs.get('ContainerConfig'), dict),
               f'got {img.attrs.get("ContainerConfig")!r}')
        ok, hist = c.call('Image.history()', img.history)
        c.eq('history: one entry, the image', [h.get('Id') for h in hist or []], [image_id])
        c.eq('history entry Tags', (hist or [{}])[0].get('Tags'), ['compat/py:1'])
    ok, by_id = c.call('images.get(short ID)', client.images.get, image_id[7:19])
    c.eq('images.get(short ID).id', by_id.id if by_id else None, image_id)
    c.raises('images.get(missing) raises ImageNotFound', ImageNotFound, client.images.get,
             'compat/nosuch:1')
    c.raises('api.inspect_image(missing) raises ImageNotFound', ImageNotFound, api.inspect_image,
             'compat/nosuch:1')

    # --- tag ----------------------------------------------------------------------------------
    if img:
        ok, res = c.call('Image.tag()', img.tag, 'compat/py', 'two')
        c.eq('Image.tag() returns True', res, True)
        img.reload()
        c.eq('tags after Image.tag()', sorted(img.tags), ['compat/py:1', 'compat/py:two'])
    c.raises('api.tag(missing) raises ImageNotFound', ImageNotFound, api.tag, 'compat/nosuch:1',
             'compat/x', 'y')

    # --- save ---------------------------------------------------------------------------------
    saved = os.path.join(work, 'save-id.tar')
    named = os.path.join(work, 'save-named.tar')
    if img:
        ok, _ = c.call('Image.save() to a file (GET /images/{id}/get)', write_chunks, img.save(), saved)
        if ok:
            manifest = json.loads(read_member(saved, 'manifest.json') or b'null')
            c.true('save: manifest.json present', manifest, 'no manifest.json in the tar')
            if manifest:
                cfg = read_member(saved, manifest[0]['Config'])
                c.eq('save: sha256 of the config is the ID',
                     'sha256:' + hashlib.sha256(cfg or b'').hexdigest(), image_id)
        ok, _ = c.call('Image.save(named=True)', write_chunks, img.save(named='compat/py:1'), named)
        if ok:
            manifest = json.loads(read_member(named, 'manifest.json') or b'null')
            c.eq('save(named): manifest RepoTags', (manifest or [{}])[0].get('RepoTags'),
                 ['compat/py:1'])
        ok, _ = c.call('api.get_image(name) to a file', write_chunks,
                       api.get_image('compat/pydata:latest'), os.path.join(work, 'save-data.tar'))

    # --- remove -------------------------------------------------------------------------------
    ok, res = c.call('images.remove(tag)', client.images.remove, 'compat/py:two')
    c.eq('remove(tag) still leaves the image', client.images.get('compat/py:1').id, image_id)
    c.call('api.tag(ID, repo, tag)', api.tag, image_id, 'compat/py', 'three')
    e = c.raises('images.remove(ID of an image with two tags) raises APIError', APIError,
                 client.images.remove, image_id)
    if e is not None:
        c.eq('conflict status code', e.status_code, 409)
        c.true('conflict says "must be forced"', 'must be forced' in str(e), str(e))
    ok, res = c.call('api.remove_image(ID, force=True)', api.remove_image, image_id, force=True)
    if ok:
        c.eq('remove answer: Untagged both, Deleted the ID',
             sorted((k, v) for d in res for k, v in d.items() if not (k == 'Deleted' and v == diff_id)),
             [('Deleted', image_id), ('Untagged', 'compat/py:1'), ('Untagged', 'compat/py:three')])
    c.raises('images.get after remove raises ImageNotFound', ImageNotFound, client.images.get,
             image_id)
    c.raises('images.remove(missing) raises ImageNotFound', ImageNotFound, client.images.remove,
             'compat/nosuch:1')

    # --- load ---------------------------------------------------------------------------------
    if os.path.exists(named):
        with open(named, 'rb') as f:
            ok, loaded = c.call('images.load(named save)', client.images.load, f.read())
        c.eq('load round trip: same ID', [i.id for i in loaded or []], [image_id])
        c.eq('load round trip: tag', [i.tags for i in loaded or []], [['compat/py:1']])
        c.eq('load round trip: layers',
             client.images.get('compat/py:1').attrs['RootFS']['Layers'], [diff_id])
    if os.path.exists(saved):
        with open(saved, 'rb') as f:
            ok, res = c.call('api.load_image(save by ID)', lambda d: list(api.load_image(d)), f.read())
        if ok:
            text = ''.join(m.get('stream', '') for m in res)
            c.true('load of a save by ID says "Loaded image"', 'Loaded image' in text, json.dumps(res))
    c.raises('images.load(not a tar) raises an error', docker.errors.DockerException,
                 client.images.load, b'nonsense')

    # --- prune --------------------------------------------------------------------------------
    ok, res = c.call('import without a repository (dangling)', api.import_image_from_data, data)
    dangling = import_id(res) if ok else None
    ok, images = c.call('images.list(filters dangling)', client.images.list,
                        filters={'dangling': True})
    c.eq('images.list(dangling) finds it', [i.id for i in images or []], [dangling])
    ok, res = c.call('images.prune(filters={"dangling": True})', client.images.prune,
                     filters={'dangling': True})
    if ok:
        c.eq('prune ImagesDeleted has the dangling ID',
             [d.get('Deleted') for d in res.get('ImagesDeleted') or [] if d.get('Deleted') == dangling],
             [dangling])
        c.true('prune SpaceReclaimed is an int', isinstance(res.get('SpaceReclaimed'), int), res)
    ok, res = c.call('images.prune() with nothing to prune', client.images.prune)
    if ok:
        c.eq('prune with nothing: no ImagesDeleted', res.get('ImagesDeleted') or [], [])

    # --- df, info -----------------------------------------------------------------------------
    ok, df = c.call('df()', client.df)
    if ok:
        c.eq('df Images are the 3 tagged images',
             sorted(t for i in df.get('Images') or [] for t in i.get('RepoTags') or []),
             ['compat/py:1', 'compat/pychunked:1', 'compat/pydata:latest'])
        c.true('df LayersSize > 0', (df.get('LayersSize') or 0) > 0, df.get('LayersSize'))
    c.eq('info Images', client.info().get('Images'), 3)

    # --- events -------------------------------------------------------------------------------
    ok, events = c.call('events(since, until)', lambda: list(client.events(
        since=start, until=int(time.time()) + 1, decode=True)))
    actions = {e.get('Action') for e in events or [] if e.get('Type') == 'image'}
    c.eq('image events seen', sorted(actions & {'import', 'tag', 'untag', 'delete', 'load', 'save'}),
         ['delete', 'import', 'load', 'save', 'tag', 'untag'])
    imp = [e for e in events or [] if e.get('Action') == 'import']
    c.true('import event has id, status, timeNano', imp and all(
        e.get('id') and e.get('status') == 'import' and e.get('timeNano') for e in imp),
        json.dumps(imp[:1]))


def write_chunks(gen, path):
    with open(path, 'wb') as f:
        for chunk in gen:
            f.write(chunk)


if __name__ == '__main__':
    sys.exit(main())
