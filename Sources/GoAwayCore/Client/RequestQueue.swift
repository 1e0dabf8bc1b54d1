/// FIFO of request ids with O(1) pops and a cheap `prepend` for re-sends.
struct RequestQueue: Hashable, Sendable {
    private var storage: [RequestID] = []
    private var head = 0
    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: RequestID? { isEmpty ? nil : storage[head] }
    var elements: [RequestID] { Array(storage[head...]) }
    mutating func append(_ id: RequestID) { storage.append(id) }
    mutating func prepend(_ id: RequestID) {
        if head > 0 {
            head -= 1
            storage[head] = id
        } else {
            storage.insert(id, at: 0)
        }
    }
    mutating func popFirst() -> RequestID? {
        guard !isEmpty else { return nil }
        let id = storage[head]
        head += 1
        if head > 64 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return id
    }
    mutating func remove(_ id: RequestID) {
        if let i = storage[head...].firstIndex(of: id) { storage.remove(at: i) }
    }
}
