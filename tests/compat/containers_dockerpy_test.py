#!/usr/bin/python3
"""Compat test: Debian's docker-py 5.0.3 (python3-docker) drives a private daemon's containers.

    containers_dockerpy_test.py                  starts a private daemon through lib/daemon.sh
                                                 (BERTH_COMPAT_DAEMON=berthd|dockerd) and runs here
    containers_dockerpy_test.py --host unix://S  runs against a daemon that is already up

Covers what docker-py users call: containers.run() returning the output (stdout, stderr,
remove=True, tty), ContainerError with the stderr, ImageNotFound, detach=True with logs,
exec_run (exit code, output, demux, env, workdir, user, stream), wait, stop, kill (signals),
attach(stream=True), list with label/status filters, top, stats(stream=False), pause/unpause,
rename, reload attrs, remove, prune, and get_archive/put_archive (skipped while the daemon
answers "not implemented").
Output: one "ok"/"FAIL"/"skip" line per check; exit 0 all passed, 1 a failure, 77 skipped.
"""
import argparse
import http.client
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree from the import below
sys.path.insert(0, HERE)
from images_dockerpy_test import Checks, import_id, make_rootfs_tar  # noqa: E402


def relaunch_with_daemon():
    """Starts a private daemon with lib/daemon.sh and runs this script against it; the bash
    parent stays alive so that its EXIT trap removes the containers and stops the daemon."""
    script = (
        'source "$1/lib/daemon.sh"; source "$1/lib/containers.sh"; compat_preflight; '
        'compat_cleanup_hook() { compat_containers_cleanup; }; compat_daemon_init; '
        'compat_daemon_start || { echo "FAIL: daemon start"; exit 1; }; '
        '/usr/bin/python3 "$1/containers_dockerpy_test.py" --host "$COMPAT_HOST" '
        '--kind "$COMPAT_KIND"'
    )
    return subprocess.call(['bash', '-c', script, 'bash', HERE])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host')
    parser.add_argument('--kind', default=os.environ.get('BERTH_COMPAT_DAEMON', 'berthd'))
    args = parser.parse_args()
    if not args.host:
        return relaunch_with_daemon()

    try:
        import docker
    except ImportError:
        print('SKIPPED: python3-docker missing (apt-get install python3-docker)')
        return 77
    print(f'docker-py {docker.__version__} ({docker.__file__}), daemon {args.kind} at {args.host}')
    c = Checks()
    work = tempfile.mkdtemp(prefix='berth-test-compat-cpy.')
    try:
        run(c, docker, args.host, work)
    except DaemonGone:
        pass
    except Exception as e:  # a client crash ends the run as one failure, not a traceback only
        import traceback
        c.bad('unexpected exception', traceback.format_exc(), e)
    finally:
        subprocess.run(['rm', '-rf', work])
    print(f'containers_dockerpy_test: {c.passed} ok, {c.failed} failed, {c.skipped} skipped '
          f'(daemon: {args.kind})')
    for n in c.failed_names:
        print(f'  failed: {n}')
    return 1 if c.failed else 0


def wait_until(fn, timeout=10.0, step=0.1):
    end = time.monotonic() + timeout
    while True:
        try:
            if fn():
                return True
        except Exception:  # the object may be changing under us; retry until the deadline
            pass
        if time.monotonic() > end:
            return False
        time.sleep(step)


class DaemonGone(Exception):
    """The daemon stopped answering: the run ends there, as one failure."""


def require_daemon(c, client, where):
    try:
        client.ping()
    except Exception as e:  # any transport error means the daemon is gone
        c.bad(f'the daemon answers /_ping ({where})', e)
        raise DaemonGone() from e


def not_implemented(e):
    return 'not implemented' in str(e).lower()


def run(c, docker, host, work):
    from docker.errors import APIError, ContainerError, ImageNotFound, NotFound

    client = docker.DockerClient(base_url=host, version='auto', timeout=120)
    api = client.api
    rootfs = os.path.join(work, 'rootfs.tar')
    make_rootfs_tar(rootfs)
    ok, res = c.call('import busybox', api.import_image, src=rootfs, repository='busybox',
                     tag='latest', changes=['CMD ["sh"]'])
    if not ok:
        return
    image_id = import_id(res)
    cs = client.containers

    # --- containers.run, attached -------------------------------------------------------------
    ok, out = c.call('containers.run("busybox", "echo hi")', cs.run, 'busybox', 'echo hi')
    c.eq('containers.run returns the output', out, b'hi\n')
    c.eq('containers.run without remove leaves the container',
         len(cs.list(all=True, filters={'status': 'exited'})), 1)
    ok, out = c.call('containers.run(remove=True)', cs.run, 'busybox', ['echo', 'bye'], remove=True)
    c.eq('containers.run(remove=True) output', out, b'bye\n')
    c.true('containers.run(remove=True): container removed',
           wait_until(lambda: len(cs.list(all=True)) == 1, 10),
           [x.name for x in cs.list(all=True)])
    ok, out = c.call('containers.run(stdout only)', cs.run, 'busybox',
                     ['sh', '-c', 'echo o; echo e >&2'], remove=True)
    c.eq('containers.run: stdout only by default', out, b'o\n')
    ok, out = c.call('containers.run(stderr=True, stdout=False)', cs.run, 'busybox',
                     ['sh', '-c', 'echo o; echo e >&2'], stdout=False, stderr=True, remove=True)
    c.eq('containers.run(stderr=True, stdout=False) output', out, b'e\n')
    ok, out = c.call('containers.run(environment, working_dir, user)', cs.run, 'busybox',
                     ['sh', '-c', 'echo $A $(pwd) $(id -u)'], environment={'A': 'x'},
                     working_dir='/tmp', user='nobody', remove=True)
    c.eq('containers.run(environment, working_dir, user) output', out, b'x /tmp 65534\n')
    ok, out = c.call('containers.run(tty=True)', cs.run, 'busybox', 'tty', tty=True, remove=True)
    c.eq('containers.run(tty=True): a pty, CRLF', out, b'/dev/pts/0\r\n')
    e = c.raises('containers.run exit 2 raises ContainerError', ContainerError, cs.run, 'busybox',
                 ['sh', '-c', 'echo oops >&2; exit 2'])
    if e is not None:
        c.eq('ContainerError.exit_status', e.exit_status, 2)
        c.eq('ContainerError.stderr', e.stderr, b'oops\n')
    e = c.raises('containers.run of a missing command raises APIError or ContainerError',
                 (APIError, ContainerError), cs.run, 'busybox', 'nosuchcmd', remove=True)
    if e is not None:
        c.true('missing command: "executable file not found"',
               'executable file not found' in str(e), str(e))
    # run pulls on ImageNotFound; the pull fails with ImageNotFound when the daemon says
    # "repository does not exist" (404), or APIError when it cannot reach the registry at all
    # (dockerd offline: 500).
    e = c.raises('containers.run of a missing image raises ImageNotFound or APIError',
                 (ImageNotFound, APIError), cs.run, 'compat/nosuch:1', 'true')
    if e is not None:
        print(f'     (containers.run of a missing image: {type(e).__name__}: {e})')
    c.raises('containers.create of a missing image raises ImageNotFound', ImageNotFound,
             cs.create, 'compat/nosuch:1', 'true')
    c.raises('containers.get(missing) raises NotFound', NotFound, cs.get, 'nosuch')

    require_daemon(c, client, 'detach, logs, reload')
    # --- detach, logs, reload -----------------------------------------------------------------
    ok, web = c.call('containers.run(detach=True)', cs.run, 'busybox',
                     ['sh', '-c', 'echo start; i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done'],
                     detach=True, name='pyweb', labels={'com.example.py': 'web'})
    if not web:
        return
    c.true('detach=True returns a Container', isinstance(web, docker.models.containers.Container),
           type(web))
    c.true('logs() has the first line',
           wait_until(lambda: web.logs().startswith(b'start\ntick-0\n'), 5), web.logs())
    c.eq('logs(tail=1) is one line', web.logs(tail=1).count(b'\n'), 1)
    ts = web.logs(timestamps=True).split(b'\n')[0]
    c.true('logs(timestamps=True): RFC 3339 with nanoseconds',
           len(ts) > 31 and ts[10:11] == b'T' and ts[19:20] == b'.' and ts[29:31] == b'Z ', ts)
    gen = web.logs(stream=True, follow=True)
    first = next(gen, b'')
    c.true('logs(stream=True, follow=True) yields', first.startswith(b'start'), first)
    gen.close()
    web.reload()
    c.eq('reload: status running', web.status, 'running')
    c.eq('reload: name', web.name, 'pyweb')
    c.eq('reload: labels', web.labels, {'com.example.py': 'web'})
    c.eq('reload: image.id is the image ID', web.image.id, image_id)
    c.eq('attrs State.Running', web.attrs['State']['Running'], True)
    c.eq('attrs Config.Tty', web.attrs['Config']['Tty'], False)
    c.eq('attrs HostConfig.LogConfig.Type', web.attrs['HostConfig']['LogConfig']['Type'], 'json-file')
    c.eq('short_id (docker-py 5: 10 hex)', web.short_id, web.id[:10])

    require_daemon(c, client, 'exec_run')
    # --- exec_run -----------------------------------------------------------------------------
    ok, r = c.call('exec_run("echo x")', web.exec_run, 'echo x')
    if ok:
        c.eq('exec_run: exit_code 0, output', (r.exit_code, r.output), (0, b'x\n'))
    # A client slow to read the response head: the exec's output must not come with it
    # (http.client would keep it in its buffer, where docker-py never looks).
    begin = http.client.HTTPResponse.begin
    def slow_begin(self):
        time.sleep(0.1)
        return begin(self)
    http.client.HTTPResponse.begin = slow_begin
    try:
        ok, r = c.call('exec_run("echo slow"), the client slow to read the head', web.exec_run,
                       'echo slow')
    finally:
        http.client.HTTPResponse.begin = begin
    if ok:
        c.eq('exec_run, slow client: the output is all there', (r.exit_code, r.output),
             (0, b'slow\n'))
    ok, r = c.call('exec_run exit 3', web.exec_run, ['sh', '-c', 'exit 3'])
    if ok:
        c.eq('exec_run: exit_code 3', r.exit_code, 3)
    ok, r = c.call('exec_run(demux=True)', web.exec_run, ['sh', '-c', 'echo o; echo e >&2'],
                   demux=True)
    if ok:
        c.eq('exec_run(demux=True): (stdout, stderr)', r.output, (b'o\n', b'e\n'))
    ok, r = c.call('exec_run(environment, workdir, user)', web.exec_run,
                   ['sh', '-c', 'echo $B $(pwd) $(id -u)'], environment=['B=y'], workdir='/etc',
                   user='nobody')
    if ok:
        c.eq('exec_run(environment, workdir, user) output', r.output, b'y /etc 65534\n')
    ok, r = c.call('exec_run(tty=True)', web.exec_run, 'tty', tty=True)
    if ok:
        c.true('exec_run(tty=True): a pty', r.output.startswith(b'/dev/pts/'), r.output)
    ok, r = c.call('exec_run(stream=True)', web.exec_run,
                   ['sh', '-c', 'for i in 1 2 3; do echo s$i; sleep 0.1; done'], stream=True)
    if ok:
        c.eq('exec_run(stream=True) output', b''.join(r.output), b's1\ns2\ns3\n')
    ok, r = c.call('exec_run(detach=True)', web.exec_run, ['sh', '-c', 'echo d > /tmp/d'],
                   detach=True)
    c.true('exec_run(detach=True) ran',
           wait_until(lambda: web.exec_run('cat /tmp/d').output == b'd\n', 5))
    ok, r = c.call('exec_run of a missing command', web.exec_run, 'nosuchcmd')
    if ok:
        c.eq('exec_run of a missing command: exit_code 126 or 127 (moby: 126 on 1.44)',
             r.exit_code in (126, 127), True)
    eid = api.exec_create(web.id, ['sh', '-c', 'exit 9'])['Id']
    api.exec_start(eid)
    ins = api.exec_inspect(eid)
    c.eq('exec_inspect after the stream: ExitCode 9, Running false',
         (ins.get('ExitCode'), ins.get('Running')), (9, False))

    require_daemon(c, client, 'attach')
    # --- attach -------------------------------------------------------------------------------
    ok, stream = c.call('attach(stream=True)', web.attach, stream=True, logs=False)
    if ok:
        got = bytearray()
        reader = threading.Thread(target=lambda: [got.extend(b) for b in
                                                  _take(stream, 3)], daemon=True)
        reader.start()
        reader.join(10)
        c.true('attach(stream=True): live tick lines', b'tick-' in got, bytes(got))
        try:
            stream.close()
        except Exception:  # closing a hijacked stream can raise; the container must survive it
            pass
    c.true('attach: container still running after the client went',
           wait_until(lambda: (web.reload(), web.status)[1] == 'running', 3), web.status)

    require_daemon(c, client, 'list')
    # --- list ---------------------------------------------------------------------------------
    cs.run('busybox', 'sleep 60', detach=True, name='pyother', labels={'com.example.py': 'other'})
    ok, lst = c.call('containers.list()', cs.list)
    c.eq('list(): the running ones', sorted(x.name for x in lst or []), ['pyother', 'pyweb'])
    ok, lst = c.call('containers.list(filters label k=v)', cs.list,
                     filters={'label': 'com.example.py=web'})
    c.eq('list(filters={"label": "k=v"})', [x.name for x in lst or []], ['pyweb'])
    ok, lst = c.call('containers.list(filters label list)', cs.list,
                     filters={'label': ['com.example.py']})
    c.eq('list(filters={"label": [k]})', sorted(x.name for x in lst or []), ['pyother', 'pyweb'])
    ok, lst = c.call('containers.list(all, status=exited)', cs.list, all=True,
                     filters={'status': 'exited'})
    c.true('list(all=True, filters={"status": "exited"}): only exited ones',
           lst and all(x.status == 'exited' for x in lst), [(x.name, x.status) for x in lst or []])
    ok, lst = c.call('containers.list(filters name)', cs.list, filters={'name': 'pyoth'})
    c.eq('list(filters={"name": substring})', [x.name for x in lst or []], ['pyother'])
    ok, lst = c.call('containers.list(sparse=True)', cs.list, sparse=True)
    c.eq('list(sparse=True) ids', sorted(x.id for x in lst or []),
         sorted(x.id for x in cs.list()))

    require_daemon(c, client, 'top, stats, pause, rename')
    # --- top, stats, pause, rename --------------------------------------------------------------
    ok, top = c.call('top()', web.top)
    if ok:
        c.true('top(): Titles has PID', 'PID' in top.get('Titles', []), top)
        cmds = [' '.join(p) for p in top.get('Processes') or []]
        c.true('top(): the sh -c process', any('sh -c' in p for p in cmds), cmds)
    ok, st = c.call('stats(stream=False)', web.stats, stream=False)
    if ok:
        c.eq('stats: name', st.get('name'), '/pyweb')
        c.eq('stats: id', st.get('id'), web.id)
        c.true('stats: memory_stats.usage > 0',
               (st.get('memory_stats') or {}).get('usage', 0) > 0, st.get('memory_stats'))
        c.true('stats: cpu_stats.cpu_usage.total_usage > 0',
               ((st.get('cpu_stats') or {}).get('cpu_usage') or {}).get('total_usage', 0) > 0,
               st.get('cpu_stats'))
        c.true('stats: pids_stats.current > 0',
               (st.get('pids_stats') or {}).get('current', 0) > 0, st.get('pids_stats'))
        c.true('stats: precpu_stats present', isinstance(st.get('precpu_stats'), dict), st)
    ok, gen = c.call('stats(stream=True, decode=True)', web.stats, stream=True, decode=True)
    if ok:
        two = list(_take(gen, 2))
        c.eq('stats(stream=True): documents keep coming', len(two), 2)
        gen.close()

    ok, _ = c.call('pause()', web.pause)
    web.reload()
    c.eq('pause: status paused', web.status, 'paused')
    c.raises('exec_run in a paused container raises APIError (409)', APIError, web.exec_run, 'true')
    ok, _ = c.call('unpause()', web.unpause)
    web.reload()
    c.eq('unpause: status running', web.status, 'running')

    ok, _ = c.call('rename()', web.rename, 'pyweb2')
    web.reload()
    c.eq('rename: name', web.name, 'pyweb2')
    c.eq('rename: get by the new name', cs.get('pyweb2').id, web.id)
    c.raises('rename: the old name is free', NotFound, cs.get, 'pyweb')

    require_daemon(c, client, 'archive')
    # --- archive (501 until implemented) ----------------------------------------------------
    try:
        bits, stat = web.get_archive('/etc/hostname')
        data = b''.join(bits)
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            member = t.extractfile('hostname').read()
        c.eq('get_archive: the file', member, (web.id[:12] + '\n').encode())
        c.eq('get_archive: stat name', stat.get('name'), 'hostname')
    except APIError as e:
        if not_implemented(e):
            c.skip('get_archive', f'daemon: {e}')
        else:
            c.bad('get_archive', e)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as t:
        info = tarfile.TarInfo('put.txt')
        info.size = 4
        t.addfile(info, io.BytesIO(b'put\n'))
    try:
        c.eq('put_archive returns True', web.put_archive('/tmp', buf.getvalue()), True)
        c.eq('put_archive: the file is there', web.exec_run('cat /tmp/put.txt').output, b'put\n')
    except APIError as e:
        if not_implemented(e):
            c.skip('put_archive', f'daemon: {e}')
        else:
            c.bad('put_archive', e)

    require_daemon(c, client, 'stop, kill, wait, restart')
    # --- stop, kill, wait, restart ------------------------------------------------------------
    trap = cs.run('busybox', ['sh', '-c', 'trap "echo usr1" USR1; trap "exit 0" TERM; '
                              'while true; do sleep 0.1; done'], detach=True, name='pytrap')
    time.sleep(0.5)
    ok, _ = c.call('kill(signal="SIGUSR1")', trap.kill, signal='SIGUSR1')
    c.true('kill(SIGUSR1): the trap ran', wait_until(lambda: b'usr1' in trap.logs(), 5), trap.logs())
    ok, _ = c.call('stop(timeout=10) of a TERM-trapping container', trap.stop, timeout=10)
    trap.reload()
    c.eq('stop: exited 0', (trap.status, trap.attrs['State']['ExitCode']), ('exited', 0))
    ok, w = c.call('wait() of an exited container', trap.wait)
    c.eq('wait(): StatusCode 0', (w or {}).get('StatusCode'), 0)
    ok, _ = c.call('restart(timeout=1)', trap.restart, timeout=1)
    trap.reload()
    c.eq('restart: running', trap.status, 'running')
    ok, _ = c.call('kill()', trap.kill)
    ok, w = c.call('wait() after kill', trap.wait, timeout=30)
    c.eq('wait(): StatusCode 137 after kill', (w or {}).get('StatusCode'), 137)
    c.eq('wait(): Error is None', (w or {}).get('Error', 'absent'), None)
    w5 = cs.run('busybox', ['sh', '-c', 'sleep 0.5; exit 5'], detach=True)
    ok, w = c.call('wait() of a running container', w5.wait, timeout=30)
    c.eq('wait(): StatusCode 5', (w or {}).get('StatusCode'), 5)
    ok, out = c.call('attach(logs=True, stream=False) of an exited container', w5.attach,
                     logs=True, stream=False)
    c.eq('attach(logs=True) of an exited container: nothing (no output)', out, b'')
    ignore = cs.run('busybox', ['sh', '-c', 'while true; do sleep 1; done'], detach=True)
    t0 = time.monotonic()
    ok, _ = c.call('stop(timeout=1) of a TERM-ignoring PID 1', ignore.stop, timeout=1)
    ignore.reload()
    c.eq('stop: SIGKILL after the timeout, 137', ignore.attrs['State']['ExitCode'], 137)
    c.true('stop(timeout=1) took < 8 s', time.monotonic() - t0 < 8, time.monotonic() - t0)

    require_daemon(c, client, 'restart policy, prune, remove')
    # --- restart policy, prune, remove --------------------------------------------------------
    rf = cs.run('busybox', ['sh', '-c', 'sleep 0.2; exit 1'], detach=True,
                restart_policy={'Name': 'on-failure', 'MaximumRetryCount': 1})
    c.true('restart_policy on-failure:1: RestartCount 1 then exited',
           wait_until(lambda: (rf.reload(), (rf.status, rf.attrs['RestartCount']))[1] == ('exited', 1),
                      20), (rf.status, rf.attrs.get('RestartCount')))
    # Every stopped one: exited, and created (the missing command's container never started).
    exited = sorted(x.id for x in cs.list(all=True) if x.status in ('exited', 'created'))
    ok, res = c.call('containers.prune()', cs.prune)
    if ok:
        c.eq('prune: ContainersDeleted are the stopped ones', sorted(res.get('ContainersDeleted') or []),
             exited)
        c.true('prune: SpaceReclaimed is an int', isinstance(res.get('SpaceReclaimed'), int), res)
    c.eq('prune: the running ones stay', sorted(x.name for x in cs.list()), ['pyother', 'pyweb2'])
    e = c.raises('remove() of a running container raises APIError (409)', APIError, web.remove)
    if e is not None:
        c.eq('remove of a running container: 409', e.status_code, 409)
    ok, _ = c.call('remove(force=True)', web.remove, force=True)
    c.raises('remove(force=True): gone', NotFound, cs.get, web.id)
    ok, _ = c.call('remove(force=True) of the other', cs.get('pyother').remove, force=True)
    c.eq('no container left', cs.list(all=True), [])


def _take(gen, n):
    """The first n items of a generator (fewer if it ends)."""
    for i, item in enumerate(gen):
        yield item
        if i + 1 >= n:
            return


if __name__ == '__main__':
    sys.exit(main())
