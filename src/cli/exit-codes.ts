/** sysexits(3) codes, so systemd and shell scripts can tell a bad config from a crash. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** `infer`/`eval`/`tensors`: some images could not be judged (the others were). */
export const EXIT_IMAGES_FAILED = 1;
/** `infer`/`eval`/`tensors`: the model itself is unusable (load failure, scores out of range). */
export const EXIT_BAD_MODEL = 2;
export const EXIT_USAGE = 64;
/** `run`: the database is not a verdict log inspectd can use (foreign file, newer schema): EX_DATAERR. */
export const EXIT_LOG_UNUSABLE = 65;
/** `run`: a stop step did not end within its bound (logged as daemon.stop_hung); the process exited anyway: EX_SOFTWARE. */
export const EXIT_STOP_HUNG = 70;
/** `run`: a stop that could not write every verdict of this run to the log: EX_IOERR. */
export const EXIT_LOG_UNWRITTEN = 74;
/** `run`: another inspectd holds the verdict log (one daemon per log): EX_TEMPFAIL. */
export const EXIT_LOG_IN_USE = 75;
export const EXIT_CONFIG = 78;
