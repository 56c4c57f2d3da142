"""The watch loop as a process: one per project, started in the background or by a service manager.

Submodules: :mod:`~autodev.loop.pidlock` (one loop per project), :mod:`~autodev.loop.status` (what the loop
is doing, on disk), :mod:`~autodev.loop.notify` (telling systemd), :mod:`~autodev.loop.daemon` (start, stop,
status from the command line), :mod:`~autodev.loop.preflight` (what must hold before a loop starts),
:mod:`~autodev.loop.service` (systemd and launchd definitions) and :mod:`~autodev.loop.envfile` (the provider
keys a service reads).
Nothing is imported here, so importing one submodule stays cheap.
"""
