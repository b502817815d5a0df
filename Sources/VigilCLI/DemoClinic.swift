import VigilModel

/// The demo clinic's staff: each one's key file in the demo folder, printed name and role.
struct DemoCast {
    struct Member {
        var file: String
        var name: String
        var role: Role
    }

    static let admin = Member(file: "admin.key", name: "Ada Admin", role: .admin)
    static let clinician = Member(file: "clinician.key", name: "Nora Nurse", role: .clinician)
    static let device = Member(file: "device.key", name: "Bedside Monitor BM-01", role: .device)
    static let pharmacist = Member(file: "pharmacist.key", name: "Phil Pharmacist", role: .pharmacist)
    static let witness = Member(file: "witness.key", name: "Wendy Witness", role: .pharmacist)
    static let officer = Member(file: "officer.key", name: "Sam Safety", role: .safetyOfficer)
    /// The admin first: the root of trust, named in the daemon's configuration rather than registered.
    static let members = [admin, clinician, device, pharmacist, witness, officer]

    let admin: SigningKey
    let clinician: SigningKey
    let device: SigningKey
    let pharmacist: SigningKey
    let witness: SigningKey
    let officer: SigningKey

    /// Reads the cast's private keys from the demo folder.
    init(folder: String) throws {
        func key(_ member: Member) throws -> SigningKey { try Files.signingKey(at: folder + "/" + member.file) }
        admin = try key(Self.admin)
        clinician = try key(Self.clinician)
        device = try key(Self.device)
        pharmacist = try key(Self.pharmacist)
        witness = try key(Self.witness)
        officer = try key(Self.officer)
    }

    /// Every key the admin registers, with its registration.
    var registered: [(key: SigningKey, member: Member)] {
        [
            (clinician, Self.clinician), (device, Self.device), (pharmacist, Self.pharmacist),
            (witness, Self.witness), (officer, Self.officer),
        ]
    }
}

/// A small MDMA-assisted therapy clinic's record over four months, all of it synthetic and in the past of `now`.
///
/// - Two lots of MDMA HCl, 1,500 mg each: L-2026-031 (day -118) and L-2026-044 (day -35). Every dispense is
///   witnessed. Counts: L-2026-031 on day -63 (matches) and day -6 (40 mg short: `count_discrepancy`),
///   L-2026-044 on day -3 (matches). One prepared supplemental dose wasted with a witness.
/// - Five participants, nine sessions (MAPP1/MAPP2 regimen: 80 or 120 mg, half the dose 120 minutes later; about
///   eight hours; four weeks apart), vital signs every 15 minutes for four hours after the dose, then every 30.
///   P-1002 stopped sertraline (serotonergic) four weeks before dosing.
/// - Alerts on purpose: a brief tachycardia (P-1002 session 1), a hypertensive session peaking at 168/102
///   (P-1003 session 2, supplemental withheld), a fever of 38.4 C (P-1002 session 2), mood checks missed on four
///   days (P-1001 session 2 day 6, P-1004 days 1-2 while in hospital, P-1005 day 2), and a serious, unexpected,
///   suspected adverse event (P-1004, hospitalization) whose 15-day expedited report is due in about two and a
///   half days, so its day-12 reminder has fired. A non-serious expected nausea (grade 1) raises nothing.
/// - The latest session (P-1005) was four days ago: its follow-up runs today.
struct DemoClinic {
    /// An event as its author signs it, with its witnesses.
    struct Entry {
        var payload: EventPayload
        var author: SigningKey
        var witnesses: [SigningKey]
    }

    static let site = "Demo Site 01 (synthetic data)"
    static let supplier = "Demo Pharma Supply (synthetic)"
    static let firstLot = "L-2026-031"
    static let secondLot = "L-2026-044"
    /// The session whose tachycardia alert the safety officer acknowledges once the daemon has raised it.
    static let acknowledgedParticipant = "P-1002"
    static let acknowledgedSession = acknowledgedParticipant + "-S1"
    static let acknowledgementNote =
        "Reviewed with the study physician: one reading of 106/min during an intense phase, 88/min 15 minutes later; no action needed."

    /// The record, in the order it happened: the order to submit it in.
    private(set) var entries: [Entry] = []
    private let cast: DemoCast
    /// Days since 1970 of the current UTC date: the clinic's days are counted from its midnight.
    private let today: Int64
    private var random = SplitMix64(seed: 14)

    init(cast: DemoCast, now: Timestamp) {
        self.cast = cast
        today = now.microsecondsSinceEpoch.floorDivided(by: 86_400_000_000)
        record(aware: now.adding(seconds: -(12 * 86_400 + 12 * 3_600)))
        entries = entries.enumerated().sorted {
            ($0.element.payload.occurredAt, $0.offset) < ($1.element.payload.occurredAt, $1.offset)
        }.map(\.element)
    }

    var participants: Int { entries.filter { $0.payload.type == .participantEnrolled }.count }
    var sessions: Int { entries.filter { $0.payload.type == .sessionStarted }.count }

    // MARK: - The story

    /// `aware`: when the clinic learned of the serious adverse event (Day 0 of its 15-day clock).
    private mutating func record(aware: Timestamp) {
        for (index, entry) in cast.registered.enumerated() {
            let registration = KeyRegistered(
                publicKey: entry.key.publicKey, name: entry.member.name, role: entry.member.role)
            add(.keyRegistered(registration), at(day: -120, minute: 8 * 60 + index), by: cast.admin)
        }
        receive(Self.firstLot, mg: 1500, day: -118)
        receive(Self.secondLot, mg: 1500, day: -35)

        let p1001 = Participant(code: "P-1001", systolic: 118, diastolic: 76, heartRate: 68, temperature: 36.7, mood: 7)
        enrol(p1001, day: -110, medications: [Medication(name: "cetirizine", serotonergic: false)])
        session(p1001, number: 1, day: -98, lot: Self.firstLot, initialMg: 120)
        session(p1001, number: 2, day: -70, lot: Self.firstLot, initialMg: 120, missed: [6])
        session(p1001, number: 3, day: -42, lot: Self.firstLot, initialMg: 120)

        let p1002 = Participant(code: "P-1002", systolic: 114, diastolic: 72, heartRate: 72, temperature: 36.8, mood: 6)
        enrol(
            p1002, day: -95,
            medications: [
                Medication(name: "sertraline", serotonergic: true),
                Medication(name: "levothyroxine", serotonergic: false),
            ])
        add(
            .participantMedicationChanged(MedicationChanged(name: "sertraline", serotonergic: true, action: .stopped)),
            at(day: -84, minute: 11 * 60), participant: p1002.code, by: cast.clinician)
        session(p1002, number: 1, day: -56, lot: Self.firstLot, initialMg: 120, course: .briefTachycardia)
        session(p1002, number: 2, day: -28, lot: Self.secondLot, initialMg: 120, course: .fever)

        let p1003 = Participant(code: "P-1003", systolic: 126, diastolic: 81, heartRate: 70, temperature: 36.6, mood: 7)
        enrol(p1003, day: -80, medications: [Medication(name: "omeprazole", serotonergic: false)])
        session(p1003, number: 1, day: -45, lot: Self.firstLot, initialMg: 80)
        session(p1003, number: 2, day: -17, lot: Self.secondLot, initialMg: 120, course: .hypertensive)

        let p1004 = Participant(code: "P-1004", systolic: 112, diastolic: 70, heartRate: 64, temperature: 36.6, mood: 6)
        enrol(p1004, day: -50, medications: [])
        session(p1004, number: 1, day: -14, lot: Self.secondLot, initialMg: 80, missed: [1, 2])
        let fibrillation = AdverseEventReported(
            aeId: "AE-1004-01", term: "Atrial fibrillation", onset: CalendarDate(daysSinceEpoch: today - 13),
            severity: 3, serious: true, criteria: [.hospitalization], expected: false, suspected: true,
            awareAt: aware)
        add(
            .adverseEventReported(fibrillation), aware.adding(seconds: 2 * 3_600), participant: p1004.code,
            session: "P-1004-S1", by: cast.clinician)
        add(
            .adverseEventUpdated(AdverseEventUpdated(aeId: fibrillation.aeId, outcome: .recovering)),
            aware.adding(seconds: 3 * 86_400), participant: p1004.code, by: cast.clinician)

        let p1005 = Participant(code: "P-1005", systolic: 120, diastolic: 78, heartRate: 74, temperature: 36.8, mood: 7)
        enrol(p1005, day: -30, medications: [Medication(name: "ibuprofen as needed", serotonergic: false)])
        session(p1005, number: 1, day: -4, lot: Self.secondLot, initialMg: 120, missed: [2])
        let nausea = AdverseEventReported(
            aeId: "AE-1005-01", term: "Nausea", onset: CalendarDate(daysSinceEpoch: today - 4), severity: 1,
            serious: false, criteria: [], expected: true, suspected: true,
            awareAt: at(day: -4, minute: Self.sessionStart + 100))
        add(
            .adverseEventReported(nausea), at(day: -4, minute: Self.sessionStart + 115), participant: p1005.code,
            session: "P-1005-S1", by: cast.clinician)

        count(Self.firstLot, day: -63, shortMg: 0)
        count(Self.firstLot, day: -6, shortMg: 40)
        count(Self.secondLot, day: -3, shortMg: 0)
    }

    // MARK: - Building blocks

    /// A participant's usual readings and mood, around which their sessions' values vary.
    struct Participant {
        var code: String
        var systolic: Double
        var diastolic: Double
        var heartRate: Double
        var temperature: Double
        var mood: Int
    }

    /// How a session's vital signs run after the dose: the rise at the drug's peak, and the cap that keeps each
    /// session's alerts to the ones it is meant to raise.
    enum Course {
        case typical, briefTachycardia, hypertensive, fever

        var rise: (systolic: Double, diastolic: Double, heartRate: Double, temperature: Double) {
            switch self {
            case .typical, .briefTachycardia: (24, 12, 20, 0.4)
            case .hypertensive: (36, 19, 22, 0.4)
            case .fever: (26, 12, 24, 1.5)
            }
        }

        var cap: (systolic: Double, diastolic: Double) {
            self == .hypertensive ? (168, 102) : (152, 94)
        }
    }

    /// Sessions start at 09:00 UTC; the initial dose is taken at 09:55 after two baseline readings.
    static let sessionStart = 9 * 60
    static let doseMinute = 55
    /// Minutes after the initial dose for the supplemental one (the protocol's window is 90 to 150).
    static let supplementalAfter = 120

    private mutating func session(
        _ participant: Participant, number: Int, day: Int, lot: String, initialMg: Int, course: Course = .typical,
        missed: Set<Int> = []
    ) {
        let id = "\(participant.code)-S\(number)"
        func time(_ minute: Int) -> Timestamp { at(day: day, minute: Self.sessionStart + minute) }
        func log(_ data: EventData, _ minute: Int, by author: SigningKey, witnesses: [SigningKey] = []) {
            add(data, time(minute), participant: participant.code, session: id, by: author, witnesses: witnesses)
        }
        log(.sessionStarted(SessionStarted(number: number)), 0, by: cast.clinician)
        for minute in [10, 45] {
            log(
                .vitalsRecorded(vitals(participant, course, minutesFromDose: minute - Self.doseMinute)), minute,
                by: cast.clinician)
        }
        log(
            .doseDispensed(DoseDispensed(lot: lot, dose: Milligrams(initialMg), kind: .initial)), Self.doseMinute,
            by: cast.pharmacist, witnesses: [cast.witness])
        let supplemental = Self.doseMinute + Self.supplementalAfter
        if course == .hypertensive {
            let reason =
                "supplemental dose prepared, then withheld by the study physician for blood pressure 168/102; not administered"
            log(
                .doseWasted(DoseWasted(lot: lot, quantity: Milligrams(initialMg / 2), reason: reason)),
                supplemental + 10,
                by: cast.pharmacist, witnesses: [cast.witness])
        } else {
            log(
                .doseDispensed(DoseDispensed(lot: lot, dose: Milligrams(initialMg / 2), kind: .supplemental)),
                supplemental, by: cast.pharmacist, witnesses: [cast.witness])
        }
        for minute in Array(stride(from: 70, through: 295, by: 15)) + Array(stride(from: 325, through: 475, by: 30)) {
            var reading = vitals(participant, course, minutesFromDose: minute - Self.doseMinute)
            // Temperature every 30 minutes.
            if minute < 300 && (minute - 70) % 30 != 0 { reading.temperatureC = nil }
            switch (course, minute) {
            case (.briefTachycardia, 160): reading.heartRate = 106
            case (.briefTachycardia, 175): reading.heartRate = 88
            case (.hypertensive, 175): (reading.systolic, reading.diastolic) = (168, 102)
            case (.fever, 220): reading.temperatureC = 38.4
            default: break
            }
            log(.vitalsRecorded(reading), minute, by: cast.device)
        }
        log(.sessionEnded(SessionEnded()), 490, by: cast.clinician)
        // Daily mood checks by telephone on days 1-7, each day that is over by now.
        for followUp in 1...7 where day + followUp < 0 && !missed.contains(followUp) {
            let check = moodCheck(participant, day: followUp)
            add(
                .moodCheckCompleted(check), at(day: day + followUp, minute: 10 * 60 + followUp * 47),
                participant: participant.code, session: id, by: cast.clinician)
        }
    }

    /// One reading: the participant's usual values, the drug's effect at this time, a little noise.
    private mutating func vitals(_ participant: Participant, _ course: Course, minutesFromDose: Int) -> VitalsRecorded {
        // The effect rises over 90 minutes, holds until 3.5 hours, then wanes over five hours.
        let t = Double(minutesFromDose)
        let effect = t < 0 ? 0 : t < 90 ? t / 90 : t < 210 ? 1 : max(0.1, 1 - (t - 210) / 300)
        let rise = course.rise
        let systolic = min(course.cap.systolic, participant.systolic + rise.systolic * effect + noise(3))
        let diastolic = min(course.cap.diastolic, participant.diastolic + rise.diastolic * effect + noise(2))
        return VitalsRecorded(
            systolic: systolic.rounded(), diastolic: diastolic.rounded(),
            heartRate: min(99, participant.heartRate + rise.heartRate * effect + noise(3)).rounded(),
            temperatureC: ((participant.temperature + rise.temperature * effect + noise(0.1)) * 10).rounded() / 10,
            spo2: (98 + noise(1)).rounded())
    }

    /// A follow-up mood check: PHQ-9 in the mild range with item 9 always 0, C-SSRS screener all no, mood near
    /// the participant's usual (never the three points below it that low_mood watches for).
    private mutating func moodCheck(_ participant: Participant, day: Int) -> MoodCheckCompleted {
        var phq9 = (0..<8).map { _ in [0, 0, 1, 1, 1, 2][Int(random.next() % 6)] } + [0]
        while phq9.reduce(0, +) > 9, let highest = phq9.indices.max(by: { phq9[$0] < phq9[$1] }) {
            phq9[highest] -= 1
        }
        let mood = min(10, max(0, participant.mood + Int(random.next() % 3) - 1))
        return MoodCheckCompleted(
            day: day, phq9: phq9, cssrs: CSSRSAnswers(q1: false, q2: false, q6: false), mood: mood)
    }

    private mutating func receive(_ lot: String, mg: Int, day: Int) {
        let receipt = InventoryReceived(
            lot: lot, substance: "MDMA HCl", quantity: Milligrams(mg), supplier: Self.supplier)
        add(.inventoryReceived(receipt), at(day: day, minute: 10 * 60), by: cast.pharmacist)
    }

    private mutating func enrol(_ participant: Participant, day: Int, medications: [Medication]) {
        add(
            .participantEnrolled(ParticipantEnrolled(site: Self.site, medications: medications)),
            at(day: day, minute: 14 * 60), participant: participant.code, by: cast.clinician)
    }

    /// A witnessed physical count at 16:00: the lot's perpetual balance from what is recorded before it, less
    /// `shortMg`. Called once every receipt, dispense and waste is in.
    private mutating func count(_ lot: String, day: Int, shortMg: Int) {
        let time = at(day: day, minute: 16 * 60)
        var balance = Milligrams.zero
        for entry in entries where entry.payload.occurredAt < time {
            switch entry.payload.data {
            case .inventoryReceived(let body) where body.lot == lot: balance = balance + body.quantity
            case .doseDispensed(let body) where body.lot == lot: balance = balance - body.dose
            case .doseWasted(let body) where body.lot == lot: balance = balance - body.quantity
            default: break
            }
        }
        add(
            .inventoryCounted(InventoryCounted(lot: lot, counted: balance - Milligrams(shortMg))), time,
            by: cast.pharmacist, witnesses: [cast.witness])
    }

    private mutating func add(
        _ data: EventData, _ time: Timestamp, participant: String? = nil, session: String? = nil,
        by author: SigningKey, witnesses: [SigningKey] = []
    ) {
        let payload = EventPayload(
            id: EventID.v7(at: time), occurredAt: time, participant: participant, session: session, data: data)
        entries.append(Entry(payload: payload, author: author, witnesses: witnesses))
    }

    /// `minute` minutes after midnight UTC, `day` days from today (negative: in the past).
    private func at(day: Int, minute: Int) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: ((today + Int64(day)) * 1_440 + Int64(minute)) * 60_000_000)
    }

    /// Uniform noise in -amplitude...amplitude.
    private mutating func noise(_ amplitude: Double) -> Double {
        (Double(random.next() % 2_001) / 1_000 - 1) * amplitude
    }
}

/// A small seeded generator (SplitMix64): the demo's values vary like readings do, and the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
