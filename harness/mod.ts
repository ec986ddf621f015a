/**
 * The public API for scenario files and for programs that drive bootlab.
 *
 * A scenario file default-exports {@link scenario}`(header, body)`. The body gets a {@link ScenarioContext}:
 * the {@link Target} it runs on, the {@link Lab} (boards and the lab LAN), {@link TargetFixtures}
 * (kernels, initramfs, U-Boot) and named steps. Everything a scenario touches from there — {@link Board},
 * {@link LinuxShell}, {@link UBootConsole}, {@link LabLan} with its DHCP/TFTP/HTTP/NBD servers and their
 * logs, {@link FaultRule}s, the image builders — is exported here, and this module is the source of the
 * reference in docs/api/ (`npm run docs:api`). docs/writing-scenarios.md has the recipes.
 *
 * @module
 */

// Writing a scenario
export { scenario } from "./scenario/define.ts";
export type { ScenarioHeader, ScenarioDefinition, ScenarioBody } from "./scenario/define.ts";
export type { ScenarioContext, TargetFixtures } from "./scenario/context.ts";

// Failures: the kinds CI tells apart
export { BootlabFailure, ProductFailure, ScenarioError, InfrastructureError, StepTimeout } from "./errors/failures.ts";
export type { FailureKind, FailureContext } from "./errors/failures.ts";

// The lab, its boards and their consoles
export type { Lab, BootOptions, SnapshotRequest, ImageRef, MediumRef, KeptMedium } from "./lab/lab.ts";
export type { BootSwitch } from "./machine/boot-rom.ts";
export type { Board } from "./lab/board.ts";
export type { LinuxShell, CommandResult, RunOptions as ShellRunOptions } from "./console/linux-shell.ts";
export type { UBootConsole, UBootRunOptions, UBootResult } from "./console/uboot.ts";
export { UBOOT_ERRORS, hex } from "./console/uboot.ts";
export type { SerialConsole } from "./console/serial-console.ts";
export type { Pattern, ExpectOptions, Match } from "./console/expect.ts";
export type { SshSession, SshResult } from "./services/ssh/client.ts";

// The lab LAN, its services and their logs
export type { LabLan, LanOptions } from "./lab/lan.ts";
export type { LabHost, LabHostLimits } from "./lan/host.ts";
export type { LanSegment, FrameEvent, PortCounters } from "./lan/segment.ts";
export type { FaultEngine, FaultRule, FaultMatch, FaultFiring } from "./lan/faults.ts";
export { seededRandom } from "./lan/faults.ts";
export type { DhcpServer, DhcpConfig, DhcpHostEntry, DhcpLogEntry, VendorClassRule } from "./services/dhcp/server.ts";
export type { TftpServer, TftpRequestRecord, TftpServerStats, TftpServerLimits } from "./services/tftp/server.ts";
export type { TftpOption } from "./services/tftp/packets.ts";
export type { TransferLog, TransferOutcome, TransferConfig } from "./services/tftp/transfer.ts";
export type { LabHttpServer, HttpLogEntry, HttpHandler, HttpServerLimits } from "./services/http/server.ts";
export type {
  NbdServer, NbdExport, NbdExportOptions, NbdWriteMode, NbdSessionLog, NbdSessionOutcome, NbdOptionRecord, NbdErrorRecord, NbdRequestRecord,
} from "./services/nbd/server.ts";
export type { Endpoint } from "./net/datagram.ts";

// Fixtures and images
export type { InitramfsOptions } from "./fixtures/fixtures.ts";
export type { BootloaderKernel } from "./fixtures/bootloader.ts";
export type { BuiltKernel, BuiltKernelRole } from "./fixtures/kernel-build.ts";
export type { ImageFile } from "./images/stage.ts";
export { buildExt4 } from "./images/ext4.ts";
export { buildVfat } from "./images/vfat.ts";
export { buildSquashfs } from "./images/squashfs.ts";
export { encodeUImage, scriptImage } from "./images/uimage.ts";
export type { UImageOptions } from "./images/uimage.ts";

// The machine catalogue
export type { Target, BoardFlash, UBootTarget, KernelBuildSpec } from "./targets/catalogue.ts";
export { linuxCommandLine } from "./targets/catalogue.ts";

// Running scenarios from a program
export { runScenarios, loadScenarios } from "./scenario/runner.ts";
export type { ScenarioResult, RunOptions } from "./scenario/runner.ts";
export type { StepRecord } from "./scenario/steps.ts";
export type {
  Timeline, StepStatus, TimelineFailure, TimelineFailureKind, TimelineBoard, ConsoleLine, LanEvent, LanEventKind,
} from "./timeline/model.ts";
