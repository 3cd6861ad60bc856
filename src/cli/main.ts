#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { errorCode, errorMessage } from '../errors.js';
import { packageVersion } from '../paths.js';
import { EXIT_FAILURE, EXIT_USAGE } from './exit-codes.js';
import { argvBytes, ARGV_LIMIT_BYTES, readFileList, rerunWithFileList } from './file-list.js';

/**
 * The `inspectd` command. Each subcommand's module is imported only when it runs, so `synth`
 * works on a machine without OpenCV and `--help` starts instantly.
 */
function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}
function num(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}]`);
    return n;
  };
}

function hostPort(v: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('--http must be HOST:PORT, e.g. 127.0.0.1:9464');
  // [::1]:9464 names an IPv6 host; listen() wants it without the brackets.
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Images named on the command line, then those listed in --files-from. */
function withListed(images: readonly string[], filesFrom: string | undefined): string[] {
  return filesFrom === undefined ? [...images] : [...images, ...readFileList(filesFrom)];
}

// `inspectd verdicts | head -2`: a reader that closes the pipe has all it wanted. End quietly, as
// cat does, instead of an unhandled EPIPE stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

/** A point in time from the command line: ISO 8601 (local time unless it says Z or an offset) or epoch ms. */
function when(name: string) {
  return (v: string) => {
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(t)) throw new InvalidArgumentError(`${name} must be an ISO 8601 time (2026-12-01T06:00) or epoch milliseconds`);
    return t;
  };
}
function verdictList(v: string): string[] {
  const list = v.split(',').map((x) => x.trim().toUpperCase()).filter(Boolean);
  const bad = list.filter((x) => !['PASS', 'FAIL', 'TIMEOUT', 'ERROR'].includes(x));
  if (list.length === 0 || bad.length > 0) throw new InvalidArgumentError(`--verdict takes PASS, FAIL, TIMEOUT, ERROR (got ${bad.join(', ') || 'nothing'})`);
  return list;
}

let exitCode = 0;
const program = new Command()
  .name('inspectd')
  .version(packageVersion(), '-V, --version', 'print the version and exit')
  .description('Industrial quality-inspection daemon: camera frames -> defect model -> PASS/FAIL over MQTT, every verdict in SQLite')
  .exitOverride()
  .showHelpAfterError();

program
  .command('run')
  .description('run the daemon (no config: synthetic camera, built-in model, embedded broker on 127.0.0.1:1883)')
  .option('-c, --config <file>', 'YAML config file')
  .option('--broker <url>', 'use this MQTT broker (mqtt://host:port) instead of the embedded one')
  .option('--db <file>', 'SQLite verdict database (overrides storage.path)')
  .option('--station <name>', 'station name (overrides station)')
  .option('--http <host:port>', 'serve /metrics, /healthz and /readyz here (overrides http.host/port; port 0 = any free port)', hostPort)
  .action(async (o: { config?: string; broker?: string; db?: string; station?: string; http?: { host: string; port: number } }) => {
    const { runCommand } = await import('./commands/run.js');
    exitCode = await runCommand(o);
  });

program
  .command('status')
  .description("a running daemon's readiness (its /readyz): exit 0 ready, 1 not ready, 69 no daemon answering")
  .option('--http <host:port>', "the daemon's metrics and health address", hostPort, { host: '127.0.0.1', port: 9464 })
  .option('--json', 'print /readyz as JSON')
  .action(async (o: { http: { host: string; port: number }; json?: boolean }) => {
    const { statusCommand } = await import('./commands/status.js');
    exitCode = await statusCommand(o, process.stdout, process.stderr);
  });

program
  .command('check-config')
  .description('check a config file as run would: schema, files, model labels, backend, and the model loaded and self-tested; exit 78 listing every problem')
  .argument('<file>', 'YAML config file')
  .option('--no-model', 'do not load and self-test the model(s) (faster; the files and labels are still checked)')
  .action(async (file: string, o: { model: boolean }) => {
    const { checkConfigCommand } = await import('./commands/check-config.js');
    exitCode = await checkConfigCommand(file, o, process.stdout, process.stderr);
  });

program
  .command('verdicts')
  .description('print recorded verdicts in seq order (same fields as the MQTT payload)')
  .option('--db <file>', 'SQLite verdict database', './var/inspectd.db')
  .option('--after-seq <n>', 'only verdicts with seq greater than n', int('--after-seq'), 0)
  .option('--limit <n>', 'at most n verdicts', int('--limit'))
  .option('--archive <dir>', 'reject-image archive to link images from (default: rejects/ beside the database)')
  .option('--station <name>', 'only this station')
  .option('--since <time>', 'only verdicts decided at or after this time (ISO 8601, e.g. 2026-12-01T06:00, or epoch ms)', when('--since'))
  .option('--until <time>', 'only verdicts decided before this time (ISO 8601 or epoch ms)', when('--until'))
  .option('--camera <name>', 'only this camera')
  .option('--verdict <list>', 'only these verdicts, comma-separated (e.g. FAIL,TIMEOUT,ERROR)', verdictList)
  .addOption(new Option('--format <fmt>', 'output format (csv: timestamps as ISO 8601 UTC)').choices(['jsonl', 'csv']).default('jsonl'))
  .action(async (o: { db: string; afterSeq: number; limit?: number; format: 'jsonl' | 'csv'; station?: string; archive?: string; since?: number; until?: number; camera?: string; verdict?: string[] }) => {
    const { verdictsCommand } = await import('./commands/verdicts.js');
    exitCode = verdictsCommand({ ...o, verdicts: o.verdict }, process.stdout);
  });

program
  .command('export')
  .description('the shift report as CSV (and with --images the kept reject images plus a labels.csv to relabel them for retraining)')
  .requiredOption('--out <dir|file.csv>', 'a .csv file, or a folder for verdicts.csv (and images/, labels.csv)')
  .option('--db <file>', 'SQLite verdict database', './var/inspectd.db')
  .option('--archive <dir>', 'reject-image archive (default: rejects/ beside the database)')
  .option('--since <time>', 'decided at or after (ISO 8601 or epoch ms)', when('--since'))
  .option('--until <time>', 'decided before (ISO 8601 or epoch ms)', when('--until'))
  .option('--station <name>', 'only this station')
  .option('--camera <name>', 'only this camera')
  .option('--verdict <list>', 'only these verdicts, comma-separated', verdictList)
  .option('--images', 'copy the archived images of the selected verdicts')
  .action(async (o: { out: string; db: string; archive?: string; since?: number; until?: number; station?: string; camera?: string; verdict?: string[]; images?: boolean }) => {
    const { exportCommand } = await import('./commands/export.js');
    exitCode = await exportCommand({ ...o, verdicts: o.verdict, images: o.images ?? false }, process.stderr);
  });

program
  .command('synth')
  .description('render synthetic line-camera images with ground-truth labels')
  .requiredOption('--out <dir>', 'output folder')
  .requiredOption('--count <n>', 'number of images', int('--count'))
  .option('--defect-rate <r>', 'share of defective parts', num('--defect-rate', 0, 1), 0.3)
  .option('--seed <s>', 'seed (same seed, same images)', int('--seed'), 1)
  .option('--start <i>', 'index of the first image', int('--start'), 0)
  .option('--width <px>', 'image width', int('--width'), 640)
  .option('--height <px>', 'image height', int('--height'), 512)
  .addOption(new Option('--channels <n>', '1 (mono) or 3 (BGR)').choices(['1', '3']).default('1'))
  .addOption(new Option('--format <fmt>', 'image format').choices(['png', 'pgm']).default('png'))
  .action(
    async (o: { out: string; count: number; defectRate: number; seed: number; start: number; width: number; height: number; channels: string; format: 'png' | 'pgm' }) => {
      const { synthCommand } = await import('./commands/synth.js');
      await synthCommand({ ...o, channels: o.channels === '3' ? 3 : 1 });
    },
  );

const precisionOption = () => new Option('--precision <p>', "which of the model's files runs (default: model.json's defaultPrecision)").choices(['fp32', 'int8']);

program
  .command('infer')
  .description('judge image files with a model: one JSON line per image (file, verdict, score, defects)')
  .requiredOption('-m, --model <model.json>', 'model description file')
  .addOption(precisionOption())
  .option('--recursive', 'descend into sub-folders of folders given')
  .option('--threshold <x>', "override the model's default threshold", num('--threshold', 0, 1))
  .option('--threads <n>', 'ONNX Runtime threads (0 = all cores)', int('--threads'), 0)
  .option('--files-from <file>', 'more image paths, one per line, from FILE ("-" = stdin)')
  .argument('[images...]', 'image files or folders (.png .jpg .jpeg .bmp .tif .tiff)')
  .action(async (images: string[], o: { model: string; precision?: 'fp32' | 'int8'; recursive?: boolean; threshold?: number; threads: number; filesFrom?: string }) => {
    if (argvBytes() > ARGV_LIMIT_BYTES) {
      exitCode = await rerunWithFileList(withListed(images, o.filesFrom));
      return;
    }
    const { inferCommand } = await import('./commands/infer.js');
    exitCode = await inferCommand(withListed(images, o.filesFrom), { ...o, intraOpThreads: o.threads }, process.stdout, process.stderr);
  });

program
  .command('eval')
  .description('measure a model on labelled images: accuracy, confusion matrix, escapes, false rejects, AUROC; or on boxes (a DeepPCB-layout folder): mAP and F-score at IoU > 0.33')
  .requiredOption('-m, --model <model.json>', 'model description file')
  .requiredOption('--labels <file|dir>', 'CSV of file,label (label "good" or a defect name; paths relative to the CSV), or a folder in DeepPCB layout (<group>/<id>_test.jpg, <id>_temp.jpg, <id>.txt boxes), scored by box: per-class AP, mAP, F-score')
  .addOption(precisionOption())
  .option('--threshold <x>', "override the model's default threshold", num('--threshold', 0, 1))
  .option('--threads <n>', 'ONNX Runtime threads (0 = all cores)', int('--threads'), 0)
  .addOption(new Option('--format <fmt>', 'output format').choices(['text', 'json']).default('text'))
  .option('--split <name>', "only the rows of this split (the labels file's split column; comma-separated for several)")
  .action(async (o: { model: string; labels: string; precision?: 'fp32' | 'int8'; threshold?: number; threads: number; format: 'text' | 'json'; split?: string }) => {
    const { evalCommand } = await import('./commands/eval.js');
    exitCode = await evalCommand({ ...o, intraOpThreads: o.threads }, process.stdout, process.stderr);
  });

function list(name: string) {
  return (v: string) => {
    const items = v.split(',').map((x) => x.trim());
    if (items.some((x) => x === '')) throw new InvalidArgumentError(`${name} takes a comma-separated list without empty items`);
    return items;
  };
}
function numbers(name: string) {
  return (v: string) => {
    const items = list(name)(v).map(Number);
    if (items.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`${name} takes comma-separated numbers`);
    return items;
  };
}

program
  .command('import')
  .description('write a checked model.json for an ONNX export (Ultralytics YOLO detect/segment/classify, NMS-free 1xNx6, Anomalib, plain classifier) and run it once')
  .argument('<model.onnx>', 'the exported model')
  .option('--image <file>', 'run the model on this image, print what it found, and keep it as a self-test in model.json')
  .option('--out <file>', 'where to write model.json (default: model.json beside the .onnx)')
  .option('--force', 'replace an existing model.json')
  .option('--name <name>', 'model name (default: the file name)')
  .option('--twin <file.onnx>', 'the same model in the other precision (e.g. its INT8 Q/DQ file)')
  .option('--metadata <file>', "Anomalib's metadata.json, when it is not beside the .onnx")
  .option('--labels <a,b,...>', 'class names in output order (plain classifiers)', list('--labels'))
  .option('--good-label <name>', 'the class that is a good part (classifiers; default "good")')
  .option('--mean <m[,m,m]>', 'input mean after x/255 (plain classifiers and others whose file does not record it)', numbers('--mean'))
  .option('--std <s[,s,s]>', 'input std after x/255 (plain classifiers)', numbers('--std'))
  .option('--threshold <x>', 'the verdict threshold (replaces the default the importer chose)', num('--threshold', 0, 1))
  .action(async (onnx: string, o: { threshold?: number; image?: string; out?: string; force?: boolean; name?: string; twin?: string; metadata?: string; labels?: string[]; goodLabel?: string; mean?: number[]; std?: number[] }) => {
    const { importCommand } = await import('./commands/import.js');
    exitCode = await importCommand(onnx, o, process.stdout, process.stderr);
  });

program
  .command('capture')
  .description("sample frames from the configured cameras, spread over time, written as the daemon preprocesses them (INT8 calibration, labelling)")
  .requiredOption('-c, --config <file>', 'YAML config file (its cameras and models)')
  .requiredOption('--out <dir>', 'a new or empty folder for the PNGs and frames.csv')
  .requiredOption('--count <n>', 'frames to keep per camera', int('--count'))
  .option('--camera <name>', 'only this camera')
  .option('--every <ms>', 'at least this long between two frames kept from one camera', int('--every'), 1000)
  .option('--max-seconds <s>', 'stop after this long even with fewer frames (exit 1)', int('--max-seconds'))
  .action(async (o: { config: string; out: string; count: number; camera?: string; every: number; maxSeconds?: number }) => {
    const { captureCommand } = await import('./commands/capture.js');
    exitCode = await captureCommand({ ...o, everyMs: o.every }, process.stdout, process.stderr);
  });

program
  .command('tensors')
  .description("write the daemon's preprocessed model inputs for images to a .npy file (INT8 calibration, training)")
  .requiredOption('-m, --model <model.json>', 'model description file')
  .requiredOption('--out <file.npy>', 'output .npy (float32, N x C x H x W); FILE.files.txt lists the images in order')
  .option('--recursive', 'descend into sub-folders of folders given')
  .option('--files-from <file>', 'more image paths, one per line, from FILE ("-" = stdin)')
  .argument('[images...]', 'image files or folders')
  .action(async (images: string[], o: { model: string; out: string; recursive?: boolean; filesFrom?: string }) => {
    const { tensorsCommand } = await import('./commands/tensors.js');
    exitCode = await tensorsCommand(withListed(images, o.filesFrom), o, process.stdout, process.stderr);
  });

program
  .command('bench')
  .description('measure the backend alone and the whole daemon (capture -> verdict at an MQTT subscriber) on this machine')
  .option('-c, --config <file>', 'config whose model and inference settings are measured (default: the embedded default)')
  .option('--seconds <n>', 'seconds of each measured run', int('--seconds'), 20)
  .option('--rate <fps>', 'offered frame rate in total (default: half the measured raw saturation)', num('--rate', 0.1, 10000))
  .option('--cameras <n>', 'synthetic cameras sharing the model', int('--cameras'), 1)
  .option('--width <px>', 'camera frame width', int('--width'), 640)
  .option('--height <px>', 'camera frame height', int('--height'), 512)
  .option('--commit-delay <ms>', 'make every verdict-log commit this slow (a slow SD card / eMMC)', int('--commit-delay'), 0)
  .option('--pages <n>', 'operator pages watching the live view during the runs (SSE streams fetching each shown frame)', int('--pages'), 0)
  .addOption(new Option('--saturation <mode>', 'search: also find the e2e saturation (five more runs, 0.6-1 x raw); none: skip it').choices(['search', 'none']).default('search'))
  .option('--opcua', 'run the OPC UA server, with a client subscribed to every camera\'s result (docs/opcua.md)')
  .addOption(new Option('--opcua-client <where>', "with --opcua, where the bench's OPC UA client runs: idle, a process of its own under SCHED_IDLE (a remote SCADA takes none of the daemon's cores); inline, in the bench process").choices(['idle', 'inline']).default('idle'))
  .option('--json <file>', 'also write the figures as JSON')
  .action(async (o: { config?: string; seconds: number; rate?: number; cameras: number; width: number; height: number; commitDelay: number; pages: number; saturation: 'search' | 'none'; opcua?: boolean; opcuaClient: 'idle' | 'inline'; json?: string }) => {
    const { benchCommand } = await import('./commands/bench.js');
    exitCode = await benchCommand({ ...o, commitDelayMs: o.commitDelay }, process.argv.slice(2));
  });

program
  .command('opcua-user')
  .description('print a line for opcua.usersFile: NAME with an scrypt hash of the password read from standard input (first line)')
  .argument('<name>', 'user name the PLC logs in with')
  .action(async (name: string) => {
    const { hashUserLine } = await import('../outputs/opcua/users.js');
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const password = Buffer.concat(chunks).toString('utf8').split('\n')[0]!.replace(/\r$/, '');
    if (password === '' || /[:\s]/.test(name) || name === '') {
      process.stderr.write('inspectd opcua-user: a name without spaces or colons, and a password on standard input\n');
      exitCode = EXIT_USAGE;
      return;
    }
    process.stdout.write(`${await hashUserLine(name, password)}\n`);
  });

program
  .command('build-engine')
  .description('build a TensorRT engine for this GPU from a model (INT8 from its Q/DQ ONNX); prints each layer\'s precision')
  .requiredOption('-m, --model <model.json>', 'model description file')
  .addOption(new Option('--precision <p>', "engine precision (default: model.json's defaultPrecision)").choices(['int8', 'fp16', 'fp32']))
  .option('--workspace <MB>', 'TensorRT builder workspace', int('--workspace'), 1024)
  .option('--timing-cache <file>', 'reuse and update a TensorRT timing cache (faster rebuilds)')
  .option('--out <file>', 'engine file (default: beside the model, named by GPU, TensorRT version and model hash)')
  .action(async (o: { model: string; precision?: 'int8' | 'fp16' | 'fp32'; workspace: number; timingCache?: string; out?: string }) => {
    const { buildEngineCommand } = await import('../infer/tensorrt/build-engine.js');
    exitCode = await buildEngineCommand(o, process.stdout, process.stderr);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    process.stderr.write(`inspectd: ${errorMessage(e)} (${errorCode(e)})\n`);
    exitCode = EXIT_FAILURE;
  }
}
process.exitCode = exitCode;
