import JHABI
import JHMachine

/// One live `kmalloc` allocation, for leak reports.
public struct KmallocAllocation: Hashable, Sendable {
    /// Kernel virtual address (direct map).
    public var address: UInt64
    public var physicalAddress: UInt64
    /// What the caller asked for.
    public var requestedSize: Int
    /// What the allocator handed out (the slab size class or page block).
    public var allocatedSize: Int
    /// Who allocated it, e.g. `jailhouse_cmd_cell_create:config`.
    public var tag: String
    public var time: VirtualTime
}

/// Totals of the kernel heap.
public struct KmallocStats: Hashable, Sendable {
    public var liveObjects = 0
    /// Sum of requested sizes of live allocations.
    public var liveBytes = 0
    public var peakBytes = 0
    public var totalAllocations = 0
    public var totalFrees = 0
    public var failedAllocations = 0
    /// `kfree` of an address that is not a live allocation (a double free or a bug).
    public var invalidFrees = 0
}

/// A deterministic allocator over the kernel heap window of physical memory.
///
/// Sizes are rounded like SLUB (kmalloc-8 … kmalloc-8k, including the 96 and 192 caches)
/// and above `KMALLOC_MAX_CACHE_SIZE` to a power-of-two number of pages from the page
/// allocator, naturally aligned. The free list is kept sorted by address and searched
/// first-fit, so the addresses of a run depend only on its sequence of calls.
struct KernelHeap {
    static let window: Range<UInt64> = 0x1000_0000 ..< 0x2000_0000
    var free: [Range<UInt64>] = [Self.window]
    /// Live allocations sorted by address (a kernel holds few at a time: a sorted array
    /// is found by binary search and needs no hashing).
    var live: [KmallocAllocation] = []
    var stats = KmallocStats()

    /// The index of the live allocation at `address`, or where one would be inserted.
    func liveIndex(_ address: UInt64) -> (index: Int, found: Bool) {
        var lo = 0, hi = live.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if live[mid].address < address { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < live.count && live[lo].address == address)
    }

    static func sizeClass(_ size: Int) -> (size: Int, align: Int) {
        if size > Kernel.kmallocMaxCacheSize {
            var pages = 1
            while pages * 4096 < size { pages <<= 1 }
            return (pages * 4096, pages * 4096)
        }
        if size <= 8 { return (8, 8) }
        if size > 64 && size <= 96 { return (96, 32) }
        if size > 128 && size <= 192 { return (192, 64) }
        var c = 16
        while c < size { c <<= 1 }
        return (c, c)
    }

    mutating func allocate(size: Int, align: Int) -> UInt64? {
        for (i, r) in free.enumerated() {
            let a = UInt64(align)
            let start = (r.lowerBound + a - 1) / a * a
            guard start + UInt64(size) <= r.upperBound else { continue }
            // Replace the free range by what is left on either side, in place.
            let end = start + UInt64(size)
            switch (r.lowerBound < start, end < r.upperBound) {
            case (true, true):
                free[i] = r.lowerBound ..< start
                free.insert(end ..< r.upperBound, at: i + 1)
            case (true, false): free[i] = r.lowerBound ..< start
            case (false, true): free[i] = end ..< r.upperBound
            case (false, false): free.remove(at: i)
            }
            return start
        }
        return nil
    }

    mutating func release(_ range: Range<UInt64>) {
        var i = 0
        while i < free.count && free[i].lowerBound < range.lowerBound { i += 1 }
        free.insert(range, at: i)
        // Coalesce with the neighbours.
        if i + 1 < free.count && free[i].upperBound == free[i + 1].lowerBound {
            free[i] = free[i].lowerBound ..< free[i + 1].upperBound
            free.remove(at: i + 1)
        }
        if i > 0 && free[i - 1].upperBound == free[i].lowerBound {
            free[i - 1] = free[i - 1].lowerBound ..< free[i].upperBound
            free.remove(at: i)
        }
    }
}

extension Kernel {
    /// x86-64 `PAGE_OFFSET`: the start of the direct map of all physical memory.
    public static let pageOffset: UInt64 = 0xffff_8880_0000_0000
    /// `KMALLOC_MAX_SIZE` on x86-64 with 4 KiB pages and SLUB:
    /// `1 << (MAX_PAGE_ORDER + PAGE_SHIFT)` = `1 << (10 + 12)` = 4 MiB.
    public static let kmallocMaxSize = 1 << 22
    /// `KMALLOC_MAX_CACHE_SIZE` with SLUB: two pages; larger requests go to the page allocator.
    public static let kmallocMaxCacheSize = 8192
    /// `ZERO_SIZE_PTR`: what `kmalloc(0)` returns; `kfree` ignores it.
    public static let zeroSizePointer: UInt64 = 16
    /// The physical window the kernel heap allocates from (clear of the hypervisor
    /// window at 0x3a000000 and the inmate RAM above it).
    public static var heapWindow: Range<UInt64> { KernelHeap.window }

    /// Allocates kernel memory. Mirrors `kmalloc` (include/linux/slab.h).
    ///
    /// - Parameters:
    ///   - size: bytes; 0 returns `ZERO_SIZE_PTR` without allocating, as Linux does.
    ///   - tag: the call site, so a leak report says who forgot to free.
    ///   - zeroed: `kzalloc`. Plain `kmalloc` memory is also zero here (freed memory is
    ///     scrubbed), which keeps runs deterministic.
    ///   - noWarn: `__GFP_NOWARN`: no log line for a failed allocation.
    /// - Returns: the kernel virtual address.
    /// - Throws: `ENOMEM` (Linux returns NULL) for sizes above `KMALLOC_MAX_SIZE`, for
    ///   negative sizes, when the heap window is exhausted, or when injected (`kmalloc`).
    public func kmalloc(_ size: Int, tag: String, zeroed: Bool = false, noWarn: Bool = false) throws(Errno) -> UInt64 {
        let fn = zeroed ? "kzalloc" : "kmalloc"
        let kind = zeroed ? LinuxTrace.kzalloc : LinuxTrace.kmalloc
        machine.advance(machine.cost.kmalloc)
        do {
            try machine.check(.kmalloc, size: size, detail: tag)
        } catch {
            heap.stats.failedAllocations += 1
            record(kind, result: .error(error), a: size, text: tag)
            throw error
        }
        if size == 0 {
            record(kind, result: .value(Int64(Self.zeroSizePointer)), a: 0, text: tag)
            return Self.zeroSizePointer
        }
        guard size > 0, size <= Self.kmallocMaxSize else {
            heap.stats.failedAllocations += 1
            if !noWarn { printk(.warning, "WARNING: \(fn): allocation of \(size) bytes exceeds KMALLOC_MAX_SIZE") }
            record(kind, result: .error(.noMemory), a: size, text: tag)
            throw .noMemory
        }
        let (allocated, align) = KernelHeap.sizeClass(size)
        guard let phys = heap.allocate(size: allocated, align: align) else {
            heap.stats.failedAllocations += 1
            if !noWarn { printk(.warning, "\(fn): out of memory for \(size) bytes") }
            record(kind, result: .error(.noMemory), a: size, text: tag)
            throw .noMemory
        }
        let va = phys &+ Self.pageOffset
        heap.live.insert(KmallocAllocation(address: va, physicalAddress: phys, requestedSize: size,
                                           allocatedSize: allocated, tag: tag, time: machine.now),
                         at: heap.liveIndex(va).index)
        heap.stats.liveObjects += 1
        heap.stats.liveBytes += size
        heap.stats.totalAllocations += 1
        heap.stats.peakBytes = max(heap.stats.peakBytes, heap.stats.liveBytes)
        record(zeroed ? LinuxTrace.kzallocDone : LinuxTrace.kmallocDone, result: .ok, a: size, b: Int(bitPattern: UInt(phys)), text: tag)
        return va
    }

    /// `kzalloc`: `kmalloc` with zeroed memory.
    public func kzalloc(_ size: Int, tag: String, noWarn: Bool = false) throws(Errno) -> UInt64 {
        try kmalloc(size, tag: tag, zeroed: true, noWarn: noWarn)
    }

    /// Frees kernel memory. Mirrors `kfree` (mm/slub.c): NULL and `ZERO_SIZE_PTR` are
    /// ignored. Freeing anything else that is not live would corrupt a real heap; here it
    /// is counted in `kmallocStats.invalidFrees`, logged, and otherwise ignored.
    public func kfree(_ address: UInt64) {
        if address <= Self.zeroSizePointer { return }
        machine.advance(machine.cost.kmalloc)
        let (index, found) = heap.liveIndex(address)
        guard found else {
            heap.stats.invalidFrees += 1
            printk(.err, "BUG: kfree of invalid pointer 0x\(String(address, radix: 16))")
            record(LinuxTrace.kfreeInvalid, result: .error(.invalidArgument), a: Int(bitPattern: UInt(address)))
            return
        }
        let a = heap.live.remove(at: index)
        machine.memory.zero(a.physicalAddress, count: a.allocatedSize)
        heap.release(a.physicalAddress ..< a.physicalAddress + UInt64(a.allocatedSize))
        heap.stats.liveObjects -= 1
        heap.stats.liveBytes -= a.requestedSize
        heap.stats.totalFrees += 1
        record(LinuxTrace.kfree, result: .ok, a: a.requestedSize, text: a.tag)
    }

    public var kmallocStats: KmallocStats { heap.stats }
    /// Live allocations in address order (a leak list when it should be empty).
    public var liveAllocations: [KmallocAllocation] { heap.live }
    /// The live allocation that contains `address`, if any.
    public func allocation(containing address: UInt64) -> KmallocAllocation? {
        // Live allocations are few; a linear scan keeps it simple (allocations never overlap).
        heap.live.first { address >= $0.address && address < $0.address + UInt64($0.allocatedSize) }
    }

    /// Mirrors `__pa` on the direct map: `addr - PAGE_OFFSET`; nil below PAGE_OFFSET.
    public func physicalAddress(ofKernel address: UInt64) -> UInt64? {
        address >= Self.pageOffset ? address - Self.pageOffset : nil
    }
    /// Mirrors `__va`.
    public func kernelAddress(ofPhysical address: UInt64) -> UInt64 { address &+ Self.pageOffset }

    /// Stores bytes at a kernel virtual address (through the direct map into physical
    /// memory). Addresses below PAGE_OFFSET are not kernel memory: nothing is written and
    /// the attempt is recorded.
    public func writeKernel(_ address: UInt64, _ bytes: [UInt8]) {
        guard let pa = physicalAddress(ofKernel: address) else {
            record(LinuxTrace.badKernelWrite, result: .error(.badAddress), a: Int(bitPattern: UInt(address)))
            return
        }
        machine.memory.write(pa, bytes)
    }

    /// Loads bytes from a kernel virtual address; zeros for addresses below PAGE_OFFSET.
    public func readKernel(_ address: UInt64, count: Int) -> [UInt8] {
        guard let pa = physicalAddress(ofKernel: address) else {
            record(LinuxTrace.badKernelRead, result: .error(.badAddress), a: Int(bitPattern: UInt(address)))
            return [UInt8](repeating: 0, count: max(0, count))
        }
        return machine.memory.read(pa, count: count)
    }
}
