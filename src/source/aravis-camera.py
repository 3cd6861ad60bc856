#!/usr/bin/python3
"""One GigE Vision camera driven through Aravis's own API (Debian: python3-gi, gir1.2-aravis-0.8), in a
process of its own, for inspectd (src/source/camera-process.ts). Why a helper and not aravissrc:
aravissrc cannot stream a camera in TriggerMode=On (it ends with "Internal data stream error" when no
frame comes between triggers), and opening a camera (discovery, GenICam XML, stream set-up) takes
100-500 ms that must not block the daemon's main thread.

usage: aravis-camera.py '<options as JSON>'
  options: cameraName, pixelFormat (GenICam name: Mono8, RGB8, BGR8, BayerRG8), width?, height?, fps?,
           exposureUs?, gainDb?, packetSize (0 = negotiate), packetResend, triggered (TriggerSource=Software)

stdout: messages, each  u32 LE header length, u32 LE payload length, header (JSON), payload (raw pixels),
  as src/source/frame-pipe.ts reads them:
  {"kind":"up", openMs, width, height, pixelFormat, triggered}   delivering (free-running: after warm-up)
  {"kind":"frame", width, height, pixelFormat, capturedAt, cameraFrameId} + pixels
  {"kind":"error", message}    something failed that the camera survives (a refused trigger, a torn frame)
  {"kind":"down", reason}      the camera is gone or cannot be used; the helper waits for "open"
stdin: JSON lines  {"cmd":"trigger"} executes TriggerSoftware now;  {"cmd":"ready"} the daemon has taken
  the last frame and can take one more;  {"cmd":"open"} try the camera again (the daemon keeps the
  back-off). stdin closed: release the camera and exit 0.
The process lives as long as the daemon: starting a process forks the daemon, which blocks its main
thread for tens of ms on a busy machine, so a camera that drops is reopened here, not by a new process.
Flow control keeps frames fresh: a frame is written only when the daemon is ready for it. Free-running,
a newer frame replaces one still waiting (the daemon judges the newest, as appsink drop=true
max-buffers=1 does); triggered, every frame is a part the PLC asked for, so none is dropped.
"""
import collections
import gc
import json
import struct
import sys
import threading
import time

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis  # noqa: E402

# Buffers queued on the stream: enough to absorb a burst of triggers or a slow write, few enough that
# a 5 MP camera holds ~25 MB.
BUFFERS = 5
# A free-running camera that sends nothing for this long is treated as lost (its stream stalled);
# triggered cameras send nothing between triggers, so they rely on Aravis's heartbeat (control-lost).
STALL_S = 5.0
# How often a triggered camera's control channel is checked between triggers.
CHECK_S = 1.0
# Good frames dropped after a free-running camera starts, before it counts as up: the first may have
# been exposed before the settings took effect.
WARMUP_FRAMES = 2
# Incomplete frames are reported at most this often.
ERROR_EVERY_S = 10.0

out = sys.stdout.buffer
lock = threading.Condition()
state = {"credit": 1, "lost": None}
# Set when the daemon closes stdin: stop cleanly (releasing the camera's control channel at once, so a
# restarted daemon can take it without waiting out the camera's heartbeat timeout).
stopping = threading.Event()
# Set by the daemon's "open" (or the stop): the helper may try the camera again.
reopen = threading.Event()
# The camera being acquired (None between attempts), for the command thread's triggers.
current = {"camera": None}


def send(header, payload=b""):
    """Writes one message; callers hold `lock`, so messages from the two threads never interleave."""
    head = json.dumps(header).encode()
    out.write(struct.pack("<II", len(head), len(payload)) + head)
    if payload:
        out.write(payload)
    out.flush()


class Down(Exception):
    """The camera cannot deliver; the reason goes to the daemon as is."""


def message(err):
    return getattr(err, "message", None) or str(err)


def main():
    opts = json.loads(sys.argv[1])
    triggered = bool(opts.get("triggered"))
    pending = collections.deque(maxlen=None if triggered else 1)
    threading.Thread(target=commands, args=(pending,), daemon=True).start()
    while not stopping.is_set():
        try:
            run_camera(opts, triggered, pending)
        except Down as err:
            with lock:
                pending.clear()
                state["lost"] = None
                send({"kind": "down", "reason": str(err)})
        # The camera given up on is unreferenced by now: free it before the next attempt opens another.
        gc.collect()
        # Wait for the daemon's "open" (after its back-off) or for the stop.
        reopen.wait()
        reopen.clear()
    sys.exit(0)


def run_camera(opts, triggered, pending):
    """Opens, configures and acquires until the camera is lost (Down) or the daemon stops us."""
    name = opts["cameraName"]
    t0 = time.monotonic()
    try:
        camera = Aravis.Camera.new(name)
    except Exception as err:  # GLib.Error: "Device 'X' not found", or the XML could not be read
        raise Down(f"GigE camera {name} not found ({message(err)})")
    handler = None
    try:
        configure(camera, opts, triggered)
        payload = camera.get_payload()
        stream = camera.create_stream(None, None)
        if isinstance(stream, Aravis.GvStream):
            resend = Aravis.GvStreamPacketResend.ALWAYS if opts.get("packetResend", True) else Aravis.GvStreamPacketResend.NEVER
            stream.set_property("packet-resend", resend)
        for _ in range(BUFFERS):
            stream.push_buffer(Aravis.Buffer.new_allocate(payload))
        # Emitted from Aravis's heartbeat thread; one from a camera given up on is not about this one.
        handler = camera.get_device().connect("control-lost", lambda *_: current["camera"] is camera and lost("control of the camera was lost (no heartbeat answer)"))
        camera.start_acquisition()
    except Exception as err:
        release(camera, handler)
        raise Down(f"GigE camera {name} refused its settings: {message(err)}")
    _, _, width, height = camera.get_region()
    up = {
        "kind": "up",
        "openMs": round((time.monotonic() - t0) * 1000),
        "width": width,
        "height": height,
        "pixelFormat": camera.get_pixel_format_as_string(),
        "triggered": triggered,
    }
    current["camera"] = camera
    try:
        acquire(camera, stream, pending, triggered, up)
    finally:
        current["camera"] = None
        try:
            camera.stop_acquisition()
        except Exception:
            pass  # a lost camera cannot be told to stop
        release(camera, handler)


def release(camera, handler):
    """Breaks the cycle a camera given up on is held by (its device's control-lost handler closes over
    it), so that it is freed as soon as run_camera returns: freeing it stops its heartbeat thread and
    gives up its control channel. Left to Python's cycle collector, each reconnect would leave one
    more heartbeat thread speaking GVCP to whatever answers at that address next."""
    if handler is not None:
        try:
            camera.get_device().disconnect(handler)
        except Exception:
            pass


def configure(camera, opts, triggered):
    """Settings left out keep the camera's own; each one set is one the camera must accept."""
    camera.set_pixel_format_from_string(opts.get("pixelFormat", "Mono8"))
    if opts.get("width") is not None or opts.get("height") is not None:
        _, _, w, h = camera.get_region()
        camera.set_region(0, 0, opts.get("width") or w, opts.get("height") or h)
    if opts.get("exposureUs") is not None:
        camera.set_exposure_time(float(opts["exposureUs"]))
    if opts.get("gainDb") is not None:
        camera.set_gain(float(opts["gainDb"]))
    if camera.is_gv_device():
        if opts.get("packetSize", 0) > 0:
            camera.gv_set_packet_size(int(opts["packetSize"]))
        else:
            camera.gv_auto_packet_size()
    if triggered:
        if not camera.is_software_trigger_supported():
            raise RuntimeError("the camera has no TriggerSoftware")
        # TriggerSelector=FrameStart, TriggerMode=On, TriggerSource=Software, AcquisitionMode=Continuous.
        camera.set_trigger("Software")
    else:
        camera.clear_triggers()
        if opts.get("fps") is not None:
            camera.set_frame_rate(float(opts["fps"]))
    camera.set_acquisition_mode(Aravis.AcquisitionMode.CONTINUOUS)


def lost(reason):
    with lock:
        if state["lost"] is None:
            state["lost"] = reason


def flush(pending):
    """Writes what the daemon is ready for; holds `lock`."""
    while state["credit"] > 0 and pending:
        header, pixels = pending.popleft()
        state["credit"] -= 1
        send(header, pixels)


def commands(pending):
    """The daemon's requests, on their own thread so a trigger is executed the moment it arrives."""
    for line in sys.stdin:
        try:
            cmd = json.loads(line).get("cmd")
        except ValueError:
            continue
        camera = current["camera"]
        if cmd == "trigger" and camera is not None:
            try:
                camera.software_trigger()
            except Exception as err:
                with lock:
                    send({"kind": "error", "message": f"TriggerSoftware failed: {message(err)}"})
        elif cmd == "ready":
            with lock:
                state["credit"] += 1
                flush(pending)
        elif cmd == "open":
            reopen.set()
    # stdin closed: the daemon is gone or stopping us. No lock here: a write may be holding it.
    stopping.set()
    reopen.set()


def acquire(camera, stream, pending, triggered, up):
    # Triggered, the camera is ready once acquiring: its frames come only when asked for.
    warmup = 0 if triggered else WARMUP_FRAMES
    if warmup == 0:
        with lock:
            send(up)
    last_frame = time.monotonic()
    last_check = time.monotonic()
    torn, torn_said = 0, 0.0
    while True:
        if stopping.is_set():
            return
        with lock:
            reason = state["lost"]
        if reason is not None:
            raise Down(reason)
        buf = stream.timeout_pop_buffer(200_000)
        now = time.monotonic()
        if buf is None:
            if not triggered and now - last_frame > STALL_S:
                raise Down(f"no frame from the camera for {STALL_S:.0f} s")
            if triggered and now - last_check > CHECK_S:
                last_check = now
                try:
                    camera.get_device().read_register(0x0934)  # GVCP heartbeat timeout register: any read will do
                except Exception as err:
                    raise Down(f"camera does not answer: {message(err)}")
            continue
        if buf.get_status() == Aravis.BufferStatus.SUCCESS:
            last_frame = now
            header = {
                "kind": "frame",
                "width": buf.get_image_width(),
                "height": buf.get_image_height(),
                "pixelFormat": up["pixelFormat"],
                # The host's clock when the frame's first packet arrived (epoch ns): the closest to
                # exposure the host can date it (the camera's own timestamp runs on its clock).
                "capturedAt": buf.get_system_timestamp() / 1e6,
                "cameraFrameId": buf.get_frame_id(),
            }
            pixels = bytes(buf.get_data())
            stream.push_buffer(buf)
            if warmup > 0:
                warmup -= 1
                if warmup == 0:
                    with lock:
                        send(up)
                continue
            with lock:
                pending.append((header, pixels))
                flush(pending)
        else:
            # An incomplete frame (lost packets the resend did not recover): not a part image. Said
            # at most every ERROR_EVERY_S, with a count, so a lossy link is not a log line per frame.
            status = buf.get_status().value_nick
            stream.push_buffer(buf)
            torn += 1
            if now - torn_said > ERROR_EVERY_S:
                with lock:
                    send({"kind": "error", "message": f"{torn} incomplete frame(s) from the camera (last: {status})"})
                torn, torn_said = 0, now


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
