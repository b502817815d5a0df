import CSystemd
import Glibc

/// The sd_notify(3) protocol: tells the service manager when the daemon is ready, reloading, stopping,
/// alive (watchdog) or what it is doing (STATUS=).
///
/// A no-op when `NOTIFY_SOCKET` is not set (not started by systemd with Type=notify).
package struct SystemdNotifier: Sendable {
    package init() {}

    /// Whether a notification socket was given.
    package var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// Sends `state`, for example "READY=1\nSTATUS=listening". Returns whether it was delivered.
    @discardableResult
    package func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    @discardableResult
    package func ready(status: String) -> Bool {
        notify("READY=1\nSTATUS=\(status)")
    }

    @discardableResult
    package func status(_ status: String) -> Bool {
        notify("STATUS=\(status)")
    }

    /// Asks for `extension` more time to finish starting (or stopping) than the unit's timeout allows,
    /// counted from now (EXTEND_TIMEOUT_USEC), and says what is taking the time. Send it again before it
    /// runs out: systemd gives up only once an extension passes with none after it.
    @discardableResult
    package func extendTimeout(by extension: Duration, status: String) -> Bool {
        let micros = `extension`.components.seconds * 1_000_000 + `extension`.components.attoseconds / 1_000_000_000_000
        return notify("EXTEND_TIMEOUT_USEC=\(micros)\nSTATUS=\(status)")
    }

    @discardableResult
    package func watchdog() -> Bool {
        notify("WATCHDOG=1")
    }

    @discardableResult
    package func stopping(status: String) -> Bool {
        notify("STOPPING=1\nSTATUS=\(status)")
    }

    /// RELOADING=1 with the CLOCK_MONOTONIC time, as Type=notify-reload expects; send ``ready(status:)`` after.
    @discardableResult
    package func reloading() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let micros = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        return notify("RELOADING=1\nMONOTONIC_USEC=\(micros)")
    }

    /// The watchdog interval systemd expects pings within (WATCHDOG_USEC, for this process per WATCHDOG_PID),
    /// or nil when the watchdog is not enabled.
    package func watchdogInterval() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }
}

/// Sockets passed by systemd socket activation (sd_listen_fds(3)).
package enum SocketActivation {
    /// The first passed descriptor (SD_LISTEN_FDS_START, 3).
    package static let firstDescriptor: Int32 = 3

    /// The descriptors passed to this process (checked against LISTEN_PID), empty when none. Clears the
    /// LISTEN_* variables so that children do not inherit them.
    package static func descriptors() -> [Int32] {
        let count = sd_listen_fds(1)
        guard count > 0 else { return [] }
        return (0..<count).map { firstDescriptor + $0 }
    }
}
