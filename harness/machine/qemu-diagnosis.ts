// Reads what QEMU printed when it died and says what it means: QEMU's own words first, then the cause
// and the fix where the cause is known (a missing option ROM is a Debian package the set-up did not
// install). Pure, so it is tested on QEMU's real messages.

import { packageForCommand, packageForFile } from "../host/requirements.ts";

export interface QemuDiagnosis {
  /** QEMU's own last words (its error lines), as printed. */
  said: string;
  /** What to do about it, when the cause is known. */
  fix?: string;
}

const ERROR_LINES = 6;

export function diagnoseQemuExit(stderr: string, binary?: string): QemuDiagnosis {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  // The watchdog's own lines and warnings that do not stop QEMU are noise next to the error.
  const errors = lines.filter((l) => !/warning:/i.test(l));
  const said = (errors.length ? errors : lines).slice(-ERROR_LINES).join(" | ");
  const rom = /failed to find romfile "([^"]+)"/.exec(stderr) ?? /Could not open option rom '([^']+)'/.exec(stderr);
  if (rom) {
    const req = packageForFile(rom[1]!);
    return {
      said,
      fix: req
        ? `QEMU cannot find ${rom[1]}, an option ROM from Debian's ${req.package}: apt-get install -y --no-install-recommends ${req.package} (\`npm start\` does it when run as root)`
        : `QEMU cannot find the option ROM ${rom[1]}: install the Debian package that ships it (apt-file search ${rom[1]}), and add it to harness/host/requirements.json`,
    };
  }
  // setpriv (the watchdog's) or the spawn itself says so when the binary is not there.
  const missingBinary = /failed to execute (\S+): No such file/.exec(stderr) ?? /could not start: spawn (\S+) ENOENT/.exec(stderr);
  if (missingBinary || (binary && new RegExp(`${binary}: not found`).test(stderr))) {
    const req = packageForCommand(missingBinary?.[1] ?? binary ?? "");
    if (req) return { said, fix: `${req.command} is not installed: install Debian's ${req.package} (\`npx bootlab doctor\` lists everything missing)` };
  }
  const file = /Could not open '([^']+)': No such file or directory/.exec(stderr) ?? /could not load (?:kernel|initrd|ram disk) '([^']+)'/i.exec(stderr);
  if (file) return { said, fix: `a file QEMU was given does not exist: ${file[1]}` };
  return { said };
}
