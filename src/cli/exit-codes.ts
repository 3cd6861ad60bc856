/** sysexits(3) codes, so systemd and shell scripts can tell a bad config from a crash. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** `infer`/`eval`/`tensors`: some images could not be judged (the others were). */
export const EXIT_IMAGES_FAILED = 1;
/** `infer`/`eval`/`tensors`: the model itself is unusable (load failure, scores out of range). */
export const EXIT_BAD_MODEL = 2;
export const EXIT_USAGE = 64;
export const EXIT_CONFIG = 78;
