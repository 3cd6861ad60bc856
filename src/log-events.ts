/**
 * The catalogue of log events: every line an operator may grep for (or alert on) at info and above
 * carries `event` with one of these names. Names are stable, like error codes: dashboards and
 * `journalctl -u inspectd -o cat | jq 'select(.event=="broker.down")'` key on them, so never rename
 * one. docs/operations.md lists them (a test checks the two agree and that a real daemon's info,
 * warn, error and fatal lines all carry a name from here).
 */
export const LOG_EVENTS = {
  // The process
  'daemon.running': 'started: model loaded, broker and cameras starting (station, broker, db, http)',
  'daemon.start_failed': 'could not start (code, err); the exit status says why',
  'daemon.stopping': 'a stop was asked for (why: the signal, or a finished replay)',
  'daemon.stopped': 'stopped cleanly (stats)',
  'daemon.stop_hung': 'a stop step did not end within its bound (step, waitedMs); the stop goes on and exits 70',
  'daemon.stop_failed': 'a stop step threw (step, err); the stop goes on',
  'daemon.cpus': 'inference.cpus is set: the CPUs every other thread of the daemon was moved to (rest), or why not',
  'daemon.forced_exit': 'a second signal: exit without a clean stop',
  'daemon.drain_incomplete': 'stopping with inferences still running after shutdown.drainMs',
  ready: 'the first frame was answered: READY=1 sent',
  'ready.without_frame': 'no frame answered within watchdog.firstFrameWaitMs: READY=1 sent anyway',
  'pipeline.stalled': 'no frame answered for watchdog.stallMs while frames wait: the watchdog is not fed',
  'line.paused': 'an operator paused the inspection (via): frames are taken but not judged, PLC triggers refused',
  'line.resumed': 'the inspection resumed (via, pausedMs, framesNotJudged)',
  'pipeline.resumed': 'frames answered again after a stall',
  'deadline.missed': 'frames given TIMEOUT since the last summary, per camera (one line per interval, never per frame)',
  'frame.error': 'a frame judged ERROR (code, err)',
  // Cameras
  'camera.starting': 'a camera source is starting (source, deadlineMs, model)',
  'camera.up': 'a camera delivers frames',
  'camera.down': 'a camera stopped delivering (reason); retried with backoff',
  'camera.problem': 'a camera source reported an error',
  'camera.removed': 'a reload removed the camera; it stopped',
  'camera.stop_failed': 'a camera source did not stop cleanly',
  'replay.finished': 'a folder replay handed over its last image',
  'trigger.no_frame': 'a PLC trigger got no frame by its deadline: TIMEOUT',
  'trigger.rejected': 'a PLC trigger message was refused (code)',
  // The model
  'model.loaded': 'a model loaded and self-tested (model, workers)',
  'model.swapped': 'a reload swapped a camera to a new model (camera, from, to)',
  'model.retired': 'a model no camera uses any more was closed',
  'model.retire_late': 'a retired model still had frames running after shutdown.drainMs',
  'backend.fallback': 'TensorRT cannot run this model here; ONNX Runtime used',
  'backend.cpu': 'TensorRT not available: ONNX Runtime on the CPU',
  'precision.measured': 'precision: auto timed both model files',
  // Broker and verdict delivery
  'broker.up': 'connected to the broker (backlog; after an outage also downForMs and reconnectAttempts)',
  'broker.down': 'the broker became unreachable: verdicts wait in the outbox (logged once per outage)',
  'broker.unreachable_at_start': 'no broker within 5 s of start: inspecting anyway, verdicts wait in the outbox',
  'broker.error': 'the broker refused or failed a connection (err; a repeated error is not logged again in one outage)',
  'broker.embedded_started': 'the embedded mosquitto is listening',
  'broker.embedded_output': 'a line the embedded mosquitto wrote to stderr',
  'verdict.publish_failed': 'debug: a verdict publish failed with its connection; resent from the outbox on reconnect',
  'mqtt.tls_unverified': 'mqtt.tls.rejectUnauthorized is false: the broker certificate is not checked',
  'outbox.undelivered': 'stopping with verdicts the broker did not acknowledge: sent at next start',
  // Storage
  'storage.ok': 'the verdict log writes again',
  'storage.degraded': 'verdict log writes fail and are retried (nothing lost yet)',
  'storage.failed': 'verdicts of this run were left out of the verdict log',
  'storage.state': "the verdict log's own report of a state change (detail: code, message, counts)",
  'storage.unwritten': 'stopped with verdicts that could not be written to the log',
  'verdict.record_failed': 'a verdict could not be handed to the verdict log',
  'archive.write_failed': 'a reject image was not saved',
  // Operations
  'config.reloaded': 'a reload applied (changed fields, cameras added/removed/restarted, models loaded/retired)',
  'config.reload_refused': 'a reload refused as a whole, with every reason (issues); the previous config runs on',
  'command.received': 'a state-changing remote command (MQTT cmd or HTTP) passed the token check',
  'command.refused': 'a remote command refused: malformed, unknown or without the right token (code)',
  'http.listening': 'the metrics, health and command server listens (host, port, paths)',
  'http.listen_failed': 'the HTTP server could not listen; the line runs without it',
  'opcua.listening': 'the OPC UA server (on its own thread) listens (endpoints, startMs)',
  'opcua.start_failed': 'the OPC UA server could not start (code INSPECTD_OPCUA); the line runs without it',
  'opcua.stopped_loading': 'a stop came while the OPC UA server was still loading its nodesets',
  'opcua.stopped': 'the OPC UA server stopped (how busy its thread was, its CPU ms, verdicts applied, CPU per verdict)',
  'opcua.camera_added': 'a camera added by a live reload got its nodes in the OPC UA address space',
  'opcua.camera_removed': 'a camera removed by a live reload lost its nodes in the OPC UA address space',
  'opcua.halted': "a client's Halt paused the line (cause, description)",
  'opcua.reset': "a client's Reset resumed the line (cause, description)",
  'opcua.configuration_activated': 'ActivateConfiguration ran the live reload of the edited config file (hash, result: applied, refused, changed)',
  'opcua.job': "a call of OPC 40100's automatic mode: StartSingleJob (camera, partId, refused), Stop, Abort, StartContinuous",
  'http.server': "fastify's own lines (request errors)",
  'systemd.notify': 'NOTIFY_SOCKET found: telling systemd READY, WATCHDOG, STATUS',
  'systemd.notify_failed': 'sd_notify failed',
  'systemd.notify_unavailable': 'NOTIFY_SOCKET set but the sd-notify package is missing',
} as const;

export type LogEvent = keyof typeof LOG_EVENTS;

export function isLogEvent(name: unknown): name is LogEvent {
  return typeof name === 'string' && Object.hasOwn(LOG_EVENTS, name);
}
