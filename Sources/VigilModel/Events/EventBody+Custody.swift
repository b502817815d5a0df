// The controlled substance: receipts, dispenses, waste, destruction, counts, losses (DEA 21 CFR 1304).

package struct InventoryReceived: EventBody {
    package static let eventType = EventType.inventoryReceived
    package enum Field: String, DeclaredFields {
        case lot, substance, quantityMg, supplier
    }
    package var lot: String
    package var substance: String
    package var quantity: Milligrams
    package var supplier: String

    package init(lot: String, substance: String, quantity: Milligrams, supplier: String) {
        self.lot = lot
        self.substance = substance
        self.quantity = quantity
        self.supplier = supplier
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        lot = try data.code(.lot)
        substance = try data.string(.substance, maxLength: 100)
        quantity = try data.milligrams(.quantityMg, maximum: context.limits.maxQuantity)
        supplier = try data.string(.supplier)
    }

    package var json: JSONObject {
        FieldWriter<Field>([
            .lot: .string(lot), .substance: .string(substance), .quantityMg: .number(quantity.jsonNumber),
            .supplier: .string(supplier),
        ]).object
    }
}

package struct DoseDispensed: EventBody {
    package static let eventType = EventType.doseDispensed
    package enum Field: String, DeclaredFields {
        case lot, doseMg, kind
    }
    package var lot: String
    package var dose: Milligrams
    package var kind: DoseKind

    package init(lot: String, dose: Milligrams, kind: DoseKind) {
        self.lot = lot
        self.dose = dose
        self.kind = kind
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        lot = try data.code(.lot)
        dose = try data.milligrams(.doseMg, maximum: context.limits.maxDose)
        kind = try data.enumeration(.kind)
    }

    package var json: JSONObject {
        FieldWriter<Field>([.lot: .string(lot), .doseMg: .number(dose.jsonNumber), .kind: .string(kind.rawValue)])
            .object
    }
}

package struct DoseWasted: EventBody {
    package static let eventType = EventType.doseWasted
    package enum Field: String, DeclaredFields {
        case lot, quantityMg, reason
    }
    package var lot: String
    package var quantity: Milligrams
    package var reason: String

    package init(lot: String, quantity: Milligrams, reason: String) {
        self.lot = lot
        self.quantity = quantity
        self.reason = reason
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        lot = try data.code(.lot)
        quantity = try data.milligrams(.quantityMg, maximum: context.limits.maxQuantity)
        reason = try data.string(.reason, maxLength: 1000)
    }

    package var json: JSONObject {
        FieldWriter<Field>([.lot: .string(lot), .quantityMg: .number(quantity.jsonNumber), .reason: .string(reason)])
            .object
    }
}

package struct InventoryDestroyed: EventBody {
    package static let eventType = EventType.inventoryDestroyed
    package enum Field: String, DeclaredFields {
        case lot, quantityMg, method, form41
    }
    package var lot: String
    package var quantity: Milligrams
    package var method: String
    /// The DEA Form 41 reference.
    package var form41: String

    package init(lot: String, quantity: Milligrams, method: String, form41: String) {
        self.lot = lot
        self.quantity = quantity
        self.method = method
        self.form41 = form41
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        lot = try data.code(.lot)
        quantity = try data.milligrams(.quantityMg, maximum: context.limits.maxQuantity)
        method = try data.string(.method)
        form41 = try data.string(.form41, maxLength: 100)
    }

    package var json: JSONObject {
        FieldWriter<Field>([
            .lot: .string(lot), .quantityMg: .number(quantity.jsonNumber), .method: .string(method),
            .form41: .string(form41),
        ]).object
    }
}

package struct InventoryCounted: EventBody {
    package static let eventType = EventType.inventoryCounted
    package enum Field: String, DeclaredFields {
        case lot, countedMg
    }
    package var lot: String
    /// The physical count; zero is a valid count.
    package var counted: Milligrams

    package init(lot: String, counted: Milligrams) {
        self.lot = lot
        self.counted = counted
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        lot = try data.code(.lot)
        counted = try data.milligrams(.countedMg, maximum: context.limits.maxQuantity, allowZero: true)
    }

    package var json: JSONObject {
        FieldWriter<Field>([.lot: .string(lot), .countedMg: .number(counted.jsonNumber)]).object
    }
}

package struct InventoryLossReported: EventBody {
    package static let eventType = EventType.inventoryLossReported
    package enum Field: String, DeclaredFields {
        case lossId, lot, quantityMg, kind, discoveredAt
    }
    /// The clinic's code for the loss, named again by `inventory.loss_report_filed`.
    package var lossId: String
    package var lot: String
    package var quantity: Milligrams
    package var kind: LossKind
    /// When the theft or loss was discovered: the DEA's one-business-day clock starts here (21 CFR 1301.76(b)).
    package var discoveredAt: Timestamp

    package init(lossId: String, lot: String, quantity: Milligrams, kind: LossKind, discoveredAt: Timestamp) {
        self.lossId = lossId
        self.lot = lot
        self.quantity = quantity
        self.kind = kind
        self.discoveredAt = discoveredAt
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        lossId = try data.code(.lossId)
        lot = try data.code(.lot)
        quantity = try data.milligrams(.quantityMg, maximum: context.limits.maxQuantity)
        kind = try data.enumeration(.kind)
        discoveredAt = try data.timestamp(.discoveredAt)
        try context.checkNotInFuture(discoveredAt, path: data.fieldPath(.discoveredAt))
    }

    package var json: JSONObject {
        FieldWriter<Field>([
            .lossId: .string(lossId), .lot: .string(lot), .quantityMg: .number(quantity.jsonNumber),
            .kind: .string(kind.rawValue), .discoveredAt: .string(discoveredAt.rfc3339),
        ]).object
    }
}

package struct InventoryLossReportFiled: EventBody {
    package static let eventType = EventType.inventoryLossReportFiled
    package enum Field: String, DeclaredFields {
        case lossId, reference, filedAt
    }
    package var lossId: String
    /// The DEA Form 106 number.
    package var reference: String
    package var filedAt: Timestamp

    package init(lossId: String, reference: String, filedAt: Timestamp) {
        self.lossId = lossId
        self.reference = reference
        self.filedAt = filedAt
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        lossId = try data.code(.lossId)
        reference = try data.string(.reference, maxLength: 100)
        filedAt = try data.timestamp(.filedAt)
        try context.checkNotInFuture(filedAt, path: data.fieldPath(.filedAt))
    }

    package var json: JSONObject {
        FieldWriter<Field>([
            .lossId: .string(lossId), .reference: .string(reference), .filedAt: .string(filedAt.rfc3339),
        ]).object
    }
}
