"""The pre-warmed process that forks every job.

Started by the server as an isolated interpreter (`python -I`) with a scrubbed
environment and one end of a Unix socket pair, whose descriptor it is given. It imports numpy
and PyGAD once, runs a small GA so their lazy imports are done, then serves spawn and
kill requests until the server closes the socket, killing every job it started
when it goes. It is single-threaded: it alone reaps its keepers, so a kill it sends
can never reach a recycled pid.

A job's keeper reports its end (the job's status and usage) once it has reaped the payload,
on a pipe or socket whose read end goes to the server with the "spawned" answer: the
thread that runs the job reads it there, without a hop through us. Every keeper's exit is
also reported when the zygote reaps it ("exited", with the usage wait4 gives): that is
the job's end for the server when the keeper died before its report.

Once a slot's job has ended and the slot has stayed idle for SPARE_DELAY, the zygote forks a
spare keeper for that slot's next job (jail.prepare_keeper: its namespaces, its root and its
payload made ahead, the payload waiting for its job before its first layer that depends on
it), so a spawn on that slot only hands it the job's limits and result channel. A slot's
first job, one that follows its predecessor sooner than that, or one whose spare is gone, is
launched from scratch.
"""
import json
import os
import selectors
import signal
import socket
import sys
import time

from . import channel, jail, probe, processes, runner

KILL_GRACE = 0.5  # seconds between a job's SIGTERM and the SIGKILL of its group
# Seconds between a job's end and the making of its slot's spare. Made at once, the spare's
# forks, namespaces and root (several milliseconds of CPU) compete for the cores with the
# server storing that job's outcome and answering its client, which is what the client waits for.
SPARE_DELAY = 0.02


def main(control_fd):
    """Serve the server on `control_fd` until it closes; returns the exit status."""
    sock = socket.socket(fileno=control_fd)
    runner.warm_up()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    os.set_blocking(wake_read, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the server decides when we stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    confinement = jail.prepare()
    report = probe.probe(confinement)
    channel.send_message(sock, {"op": "ready", "sandbox": report, "versions": runner.versions()})
    Zygote(sock, wake_read, confinement).serve()
    return 0


class Zygote:
    def __init__(self, sock, wake_read, confinement):
        self.sock = sock
        self.wake_read = wake_read
        self.confinement = confinement  # the probed jail every job is launched in
        self.jobs = {}  # keeper pid -> job id
        self.kill_at = {}  # keeper pid -> when a SIGTERM'd job's group gets SIGKILL
        self.slots = {}  # keeper pid -> its job's slot, until the job has ended
        self.spares = {}  # slot -> (pid, socket) of a keeper prepared for that slot's next job
        self.spare_due = {}  # slot -> when its spare is made, if the slot is still idle then
        self.selector = None

    def serve(self):
        self.selector = selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ, "control")
        selector.register(self.wake_read, selectors.EVENT_READ, "child")
        try:
            while True:
                due = [*self.kill_at.values(), *self.spare_due.values()]
                timeout = max(0.0, min(due) - time.monotonic()) if due else None
                for key, _ in selector.select(timeout):
                    if key.data == "control":
                        self.handle(*channel.recv_message(self.sock))
                    else:
                        processes.drain(self.wake_read)
                self.reap()
                self.kill_overdue()
                self.prepare_due_spares()
        except channel.ChannelClosed:
            pass
        finally:
            for pid in list(self.jobs) + [pid for pid, _ in self.spares.values()]:
                processes.kill_group(pid)

    def handle(self, message, fds):
        op = message.get("op")
        if op == "spawn":
            self.spawn(message, fds)
        elif op == "kill":
            for pid, job in self.jobs.items():
                if job == message["job"] and pid not in self.kill_at:
                    # The keeper kills and reaps its payload on SIGTERM, so the exit report
                    # carries the CPU the job used; SIGKILL follows if it has not gone.
                    processes.send_signal(pid, signal.SIGTERM)
                    self.kill_at[pid] = time.monotonic() + KILL_GRACE
        for fd in fds:
            os.close(fd)

    def spawn(self, message, fds):
        job = message["job"]
        if len(fds) != 1:
            channel.send_message(self.sock, {"op": "spawn_failed", "job": job, "error": "no output pipe"})
            return
        slot, limits = message["slot"], message["limits"]
        try:
            pid, report_read = self.start_spare(slot, limits, fds[0]) or self.launch(slot, limits, fds[0])
        except OSError as exc:
            channel.send_message(self.sock, {"op": "spawn_failed", "job": job, "error": str(exc)})
            return
        self.jobs[pid] = job
        self.slots[pid] = slot
        try:  # the keeper's report goes to the server: we keep no copy of its read end
            channel.send_message(self.sock, {"op": "spawned", "job": job, "pid": pid}, fds=[report_read])
        finally:
            os.close(report_read)

    def launch(self, slot, limits, result_fd):
        """A keeper forked for this job now; returns (pid, the read end of its report pipe)."""
        report_read, report_write = os.pipe()
        try:
            pid = jail.launch(
                self.confinement,
                runner.run_job_from_channel,  # the spec comes from the server, not through us
                slot=slot, limits=limits, result_fd=result_fd, report_fd=report_write)
        except OSError:
            os.close(report_read)
            raise
        finally:
            os.close(report_write)
        return pid, report_read

    def start_spare(self, slot, limits, result_fd):
        """The slot's spare keeper given this job; (pid, its socket's fd), or None when there is none."""
        jail.check_job(self.confinement, slot, limits)
        spare = self.spares.pop(slot, None)
        if spare is None:
            return None
        pid, sock = spare
        try:
            jail.start_keeper(sock, limits=limits, result_fd=result_fd)
        except OSError:
            sock.close()
            processes.kill_group(pid)  # reaped like any child; not a job
            return None
        return pid, sock.detach()

    def spare_later(self, slot):
        self.spare_due[slot] = time.monotonic() + SPARE_DELAY

    def prepare_due_spares(self):
        now = time.monotonic()
        for slot, when in list(self.spare_due.items()):
            if when <= now:
                del self.spare_due[slot]
                if slot not in self.slots.values():  # a job runs there again: its own end makes the spare
                    self.prepare_spare(slot)

    def prepare_spare(self, slot):
        if slot in self.spares:
            return
        try:
            self.spares[slot] = jail.prepare_keeper(self.confinement, runner.run_job_from_channel, slot=slot,
                                                    warm_up=runner.warm_up)
        except OSError:
            pass  # the slot's next job is launched from scratch

    def kill_overdue(self):
        now = time.monotonic()
        for pid, when in list(self.kill_at.items()):
            if when <= now:
                processes.kill_group(pid)
                del self.kill_at[pid]

    def send_exit(self, job, exit_code, signum, cpu_seconds, peak_memory_bytes):
        channel.send_message(self.sock, {
            "op": "exited",
            "job": job,
            "exit_code": exit_code,
            "signal": signum,
            "cpu_seconds": cpu_seconds,
            "peak_memory_bytes": peak_memory_bytes,
        })

    def reap(self):
        # Every child, not only keepers: as a subreaper the zygote also inherits payloads
        # whose keeper died, and they must not stay zombies until the next job.
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.kill_at.pop(pid, None)
            self.forget_spare(pid)
            job = self.jobs.pop(pid, None)
            if job is None:
                continue
            # The keeper waited for the payload, so its children's usage is in here.
            self.send_exit(job, os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                           os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                           usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
            self.spare_later(self.slots.pop(pid))

    def forget_spare(self, pid):
        """A spare keeper that died unused (it is never a job): its slot's next job is launched from scratch."""
        for slot, (spare_pid, sock) in list(self.spares.items()):
            if spare_pid == pid:
                sock.close()
                del self.spares[slot]


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
