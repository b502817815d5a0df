import Crypto
import Synchronization
package import VigilConfig
package import VigilModel

/// The browsers signed in to the console: a session per sign-in, held in memory only (a restart signs everyone
/// out), found by the SHA-256 of its cookie so the table never holds a usable cookie.
///
/// A session lasts until it is idle for ``idleSeconds`` or reaches ``lifetimeSeconds``, until sign-out, or until
/// the token it was opened with is no longer configured with the same role (a configuration reload revokes it).
package final class ConsoleSessions: Sendable {
    /// A signed-in browser.
    package struct Session: Sendable {
        /// The reader token's grant the session was opened with.
        package var grant: TokenGrant
        package var openedAt: Timestamp
        package var lastSeenAt: Timestamp
        package var role: ReaderRole { grant.role }
    }

    package let idleSeconds: Int64
    package let lifetimeSeconds: Int64
    /// At most this many sessions are kept; opening one more drops the expired ones, then the least recently seen.
    package let capacity: Int
    private let sessions = Mutex<[[UInt8]: Session]>([:])

    package init(idleSeconds: Int64 = 30 * 60, lifetimeSeconds: Int64 = 12 * 3600, capacity: Int = 10_000) {
        self.idleSeconds = idleSeconds
        self.lifetimeSeconds = lifetimeSeconds
        self.capacity = capacity
    }

    /// Opens a session for a grant and returns the cookie's value: 32 random bytes, base64url.
    package func open(_ grant: TokenGrant, now: Timestamp) -> String {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let cookie = Base64.encode(secret).replacing("+", with: "-").replacing("/", with: "_")
            .replacing("=", with: "")
        let session = Session(grant: grant, openedAt: now, lastSeenAt: now)
        sessions.withLock { table in
            if table.count >= capacity {
                table = table.filter { !expired($0.value, now: now) }
                while table.count >= capacity, let oldest = table.min(by: { $0.value.lastSeenAt < $1.value.lastSeenAt })
                {
                    table[oldest.key] = nil
                }
            }
            table[Self.digest(cookie)] = session
        }
        return cookie
    }

    /// The live session of a cookie, seen now; nil (and the session forgotten) once expired or revoked.
    package func session(
        cookie: String, now: Timestamp, isConfigured: (TokenGrant) -> Bool
    ) -> Session? {
        let key = Self.digest(cookie)
        return sessions.withLock { table in
            guard var session = table[key] else { return nil }
            guard !expired(session, now: now), isConfigured(session.grant) else {
                table[key] = nil
                return nil
            }
            session.lastSeenAt = now
            table[key] = session
            return session
        }
    }

    /// Ends the session of a cookie (sign-out).
    package func close(cookie: String) {
        let key = Self.digest(cookie)
        _ = sessions.withLock { $0.removeValue(forKey: key) }
    }

    package var count: Int { sessions.withLock { $0.count } }

    private func expired(_ session: Session, now: Timestamp) -> Bool {
        let micros: Int64 = 1_000_000
        return now.microsecondsSinceEpoch - session.lastSeenAt.microsecondsSinceEpoch > idleSeconds * micros
            || now.microsecondsSinceEpoch - session.openedAt.microsecondsSinceEpoch > lifetimeSeconds * micros
    }

    private static func digest(_ cookie: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(cookie.utf8)))
    }
}
