// Package service runs smsagent as a system service and installs it as one:
// a systemd unit on Linux, a service of the service control manager on
// Windows. It uses github.com/kardianos/service for installing and
// controlling, and adds what that library leaves out.
//
// # Running: Run
//
// Run adapts the agent, a func(ctx) error, to both ways it is started. From
// a console, SIGINT and SIGTERM stop it; under systemd, SIGTERM
// (systemd.kill(5)); under Windows, the SCM's stop and shutdown controls,
// through our own svc.Handler that reports StopPending with a wait hint and
// advancing checkpoints and ends the service with a service-specific exit
// code when the agent fails. Stopping has two stages: the first request
// cancels the agent's context, the second (or the end of the grace period)
// cancels ForceContext, and after the force period Run gives up. The
// default budget of 9 s fits the 10 s Windows allows and the unit's
// TimeoutStopSec=15.
//
// # Installing: Manager
//
// On Linux the unit is ours (Unit, unitTemplate), not the library's default,
// which hard-codes RestartSec=120 and does not wait for the network: it
// orders after network-online.target, restarts after 5 s, runs as the
// smsagent user with systemd's sandboxing (systemd.exec(5): ProtectSystem=
// strict with the state folder and the spool writable, PrivateTmp,
// NoNewPrivileges, RestrictAddressFamilies, MemoryDenyWriteExecute and
// more). The .deb and .rpm ship the same template rendered for their paths
// (packaging/smsagent.service; a test keeps the two equal). Install refuses
// to write /etc/systemd/system/smsagent.service when the package's unit
// exists, since the administrator's folder would shadow it, and when a unit
// is already there. It creates the missing writable folders for the
// service user, and their missing parents with mode 0755 whatever the
// umask, then checks from owners, modes and POSIX ACLs (acl(5)) that the
// service user can enter every folder on the way, write in its folders and
// read its configuration and secret files; otherwise it names what stops it
// and registers nothing.
//
// On Windows, Install also sets recovery actions (restart after 5 s, also on
// non-crash failures, which kardianos/service never enables), gives
// %ProgramData%\smsagent (and the folders it creates) a protected DACL for
// LocalSystem and Administrators only, registers the event log source, and the running service moves out of System32 into its
// working folder. Stop waits a bounded time (kardianos/service#337 can spin
// forever).
//
// Only systemd and Windows are supported; on other systems NewManager says
// so.
package service
