import Foundation
import JHABI
import JHMachine

// The integration with the lower layers (JHLinux, JHHypervisor, JHDriver, JHConfig
// built-ins). It is compiled once those layers have landed on main; until then the
// standard factory reports that the machine cannot be built.

extension BoxFactory {
    /// The real box: JHLinux + JHHypervisor + JHDriver on a JHMachine.
    public static let standard: BoxFactory = BoxFactory(
        make: { _ in throw LabError("this jhsim was built without the simulated machine (the Linux, hypervisor and driver layers have not been merged yet)") },
        builtinSystemConfig: { _ in nil },
        builtinCellConfig: { _ in nil },
        builtinCellNames: [],
        faultCatalog: [],
        inmateKinds: ["passive", "cooperative", "locking", "unresponsive", "crashing", "comm-rev-mismatch"],
        describeCellConfig: { _ in nil })
}
