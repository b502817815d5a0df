#ifndef VIGIL_CSYSTEMD_SHIM_H
#define VIGIL_CSYSTEMD_SHIM_H

// sd_journal_sendv is a macro that adds the C caller's location unless this is defined; Swift passes
// CODE_FILE, CODE_LINE and CODE_FUNC of the Swift call site itself.
#define SD_JOURNAL_SUPPRESS_LOCATION 1

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <sys/uio.h>

#endif
