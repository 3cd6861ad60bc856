/** sysexits(3) codes, so systemd and shell scripts can tell a bad config from a crash. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 64;
export const EXIT_CONFIG = 78;
