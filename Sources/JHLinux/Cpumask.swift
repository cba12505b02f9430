import JHABI

/// The cpumask operations of include/linux/cpumask.h the driver uses, under their
/// kernel names, on `CPUSet` (which iterates in ascending order, like `for_each_cpu`).
extension CPUSet {
    /// `cpumask_test_cpu`.
    public func test(_ cpu: CPUID) -> Bool { contains(cpu) }
    /// `cpumask_set_cpu`. Negative CPU numbers are ignored rather than trapping.
    public mutating func set(_ cpu: CPUID) { if cpu >= 0 { insert(cpu) } }
    /// `cpumask_clear_cpu`.
    public mutating func clear(_ cpu: CPUID) { remove(cpu) }
    /// `cpumask_weight`.
    public var weight: Int { count }
    /// `cpumask_and`.
    public func and(_ o: CPUSet) -> CPUSet { intersection(o) }
    /// `cpumask_or`.
    public func or(_ o: CPUSet) -> CPUSet { union(o) }
    /// `cpumask_andnot`.
    public func andnot(_ o: CPUSet) -> CPUSet { subtracting(o) }
    /// `cpumask_subset`.
    public func subset(of o: CPUSet) -> Bool { isSubset(of: o) }
    /// `%*pb` as sysfs prints it (`cpumap_print_to_pagebuf(false, …)`), newline included.
    public func sysfsMask(nrCPUIDs: Int) -> String { hexMask(nrCPUIDs: nrCPUIDs) + "\n" }
    /// `%*pbl` as sysfs prints it, newline included (an empty mask is an empty line).
    public func sysfsList() -> String { rangeList + "\n" }
}
