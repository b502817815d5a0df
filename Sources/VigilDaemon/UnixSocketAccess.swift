import Foundation

/// Who may connect to the Unix socket listener: its file mode and group.
///
/// The socket is created under the daemon's umask (the unit sets 0077, and vigild sets it too), so it starts
/// closed to everyone else and is only then opened to the configured mode and group.
struct UnixSocketAccess: Sendable {
    let path: String
    let mode: UInt16
    let groupID: gid_t?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Resolves the group name now, so a misspelt group stops the daemon before it serves anything.
    init(path: String, mode: UInt16, group: String) throws {
        self.path = path
        self.mode = mode
        if group.isEmpty {
            groupID = nil
        } else if let entry = getgrnam(group) {
            groupID = entry.pointee.gr_gid
        } else if let number = gid_t(group) {
            groupID = number
        } else {
            throw Failure(description: "http.unixSocketGroup: no group named \(group)")
        }
    }

    func apply() throws {
        if let groupID, chown(path, uid_t.max, groupID) != 0 {
            throw Failure(description: "cannot give \(path) to group \(groupID): \(String(cString: strerror(errno)))")
        }
        if chmod(path, mode_t(mode)) != 0 {
            throw Failure(description: "cannot set the mode of \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Calls its action once every listener is bound, with their addresses, so systemd hears READY=1 only when
/// every configured way in accepts connections.
actor ReadinessLatch {
    private let expected: Int
    private var addresses: [String] = []
    private let action: @Sendable ([String]) async -> Void

    init(expected: Int, action: @escaping @Sendable ([String]) async -> Void) {
        self.expected = expected
        self.action = action
    }

    func arrived(_ address: String) async {
        addresses.append(address)
        if addresses.count == expected { await action(addresses) }
    }
}
