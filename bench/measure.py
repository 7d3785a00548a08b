#!/usr/bin/python3
"""Run one command and print what it cost, measured from outside.

    measure.py OUTFILE TIMEOUT_S LOGFILE STDOUTFILE -- COMMAND [ARG...]

Runs COMMAND (stdin from /dev/null, stdout to STDOUTFILE, stderr to LOGFILE;
STDOUTFILE may be "-" to send stdout to LOGFILE too) in its own process group
and writes one line to OUTFILE:

    rc=R wall_ms=W user_ms=U sys_ms=S cpu_ms=U+S maxrss_kib=M

The figures come from wait4(2) on the command's process: user and system CPU
time of that process plus all its descendants that were waited for (curl,
openssl, hook scripts... spawned by the client), in microseconds, and the
largest resident set of any one of them (ru_maxrss, KiB). Wall time is taken
with a monotonic clock from just before the fork to just after wait4 returns.
This wrapper's own interpreter start-up is not in any of the figures.

After TIMEOUT_S seconds the whole process group is killed and rc is 124.

With MEASURE_RUSAGE_BIN set to bench/rusage (built from bench/rusage.c by
bench/build_c.sh), COMMAND runs under it and user, system and maxrss are the ones
it reports: a process forked by Python inherits the interpreter's resident set
as its high-water mark (Linux keeps the larger of the old and the new peak over
exec), so ru_maxrss seen from here is never below ~10-14 MiB. Wall time and the
timeout stay here; the wrapper's own fork costs well under a millisecond.
"""
import os
import signal
import subprocess
import sys
import time


def main(argv):
    if len(argv) < 6 or argv[4] != "--":
        sys.stderr.write(__doc__)
        return 2
    outfile, timeout_s, logfile, stdoutfile = argv[0], float(argv[1]), argv[2], argv[3]
    cmd = argv[5:]
    rusage_bin = os.environ.get("MEASURE_RUSAGE_BIN", "")
    rusage_file = outfile + ".rusage"
    if rusage_bin:
        cmd = [rusage_bin, rusage_file] + cmd

    timed_out = False
    proc = None

    def on_alarm(_signum, _frame):
        nonlocal timed_out
        timed_out = True
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    with open(logfile, "ab") as log, open(os.devnull, "rb") as devnull:
        out = log if stdoutfile == "-" else open(stdoutfile, "wb")
        try:
            signal.signal(signal.SIGALRM, on_alarm)
            t0 = time.monotonic_ns()
            proc = subprocess.Popen(cmd, stdin=devnull, stdout=out, stderr=log,
                                    start_new_session=True)
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
            _, status, ru = os.wait4(proc.pid, 0)
            t1 = time.monotonic_ns()
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            if out is not log:
                out.close()
    # Popen must not try to reap the process again.
    proc.returncode = 0

    if timed_out:
        rc = 124
    elif os.WIFEXITED(status):
        rc = os.WEXITSTATUS(status)
    else:
        rc = 128 + os.WTERMSIG(status)
    user_ms = ru.ru_utime * 1000.0
    sys_ms = ru.ru_stime * 1000.0
    maxrss = ru.ru_maxrss
    if rusage_bin and not timed_out:
        with open(rusage_file) as f:
            inner = dict(kv.split("=") for kv in f.read().split())
        os.unlink(rusage_file)
        user_ms, sys_ms = float(inner["user_ms"]), float(inner["sys_ms"])
        maxrss = int(inner["maxrss_kib"])
    with open(outfile, "w") as f:
        f.write("rc=%d wall_ms=%.1f user_ms=%.1f sys_ms=%.1f cpu_ms=%.1f maxrss_kib=%d\n"
                % (rc, (t1 - t0) / 1e6, user_ms, sys_ms, user_ms + sys_ms, maxrss))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
