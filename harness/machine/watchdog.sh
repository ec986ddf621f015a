#!/bin/sh
# Runs QEMU so that it can never outlive the harness, however the harness dies (even SIGKILL):
# - the harness holds the write end of our stdin; when it dies the pipe reaches EOF and we kill QEMU;
# - QEMU runs under `setpriv --pdeathsig KILL`, so if this script itself is killed, QEMU dies with it.
# (pdeathsig alone is not enough under runtimes that spawn from short-lived threads: it fires when the
# creating *thread* exits. This shell is single-threaded.)
exec 3<&0 </dev/null
# A machine restored from a saved state reads it on descriptor 4 (`-incoming fd:4`), opened here for QEMU alone.
if [ -n "${BOOTLAB_INCOMING_STATE:-}" ]; then
  setpriv --pdeathsig KILL -- "$@" 4<"$BOOTLAB_INCOMING_STATE" &
else
  setpriv --pdeathsig KILL -- "$@" &
fi
qemu=$!
{ cat <&3 >/dev/null; kill -KILL "$qemu" 2>/dev/null; } &
exec 3<&-
trap 'kill -TERM "$qemu" 2>/dev/null' TERM INT HUP
wait "$qemu"
status=$?
# `wait` returns early when a trapped signal arrives; wait again until QEMU has really gone.
while kill -0 "$qemu" 2>/dev/null; do
  wait "$qemu"
  status=$?
done
# QEMU killed by a signal (the OOM killer's SIGKILL, a crash's SIGSEGV): die of the same signal, so the
# harness sees the signal rather than the shell's 128+N exit status. No core file of this shell.
if [ "$status" -gt 128 ] && [ "$status" -lt 160 ]; then
  trap - TERM INT HUP
  ulimit -c 0
  kill -s "$(kill -l "$status")" $$
fi
exit "$status"
