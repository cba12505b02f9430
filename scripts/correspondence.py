#!/usr/bin/env python3
"""Regenerates Docs/correspondence.md: every C function a Swift declaration mirrors
(its doc comment says "Mirrors `name` ..."), where the Swift code lives, and which test
files exercise it. Run from the repository root: python3 scripts/correspondence.py
A test (jhsimTests/CorrespondenceTests) fails when the document misses a mirrored name."""
import os, re, subprocess

MIRROR = re.compile(r"Mirrors\s+`([^`]+)`(?:[^(`]*?(?:in\s+([\w/.-]+\.[ch])|\(([\w/.-]+\.[ch])\)))?")
DECL = re.compile(r"^\s*(?:public\s+|internal\s+|private\s+|fileprivate\s+|static\s+|final\s+|mutating\s+|@\w+\s+)*"
                  r"(?:func|init|var|let|struct|class|enum)\s*([A-Za-z_][A-Za-z0-9_]*)?")

def layer_of(path):
    return path.split("/")[1]

rows = []
for root, _, files in os.walk("Sources"):
    for f in sorted(files):
        if not f.endswith(".swift"):
            continue
        path = os.path.join(root, f)
        lines = open(path, encoding="utf-8").read().split("\n")
        for i, line in enumerate(lines):
            if "///" not in line or "Mirrors" not in line:
                continue
            # The comment may continue on the next line.
            text = line + " " + (lines[i + 1].strip().lstrip("/ ") if i + 1 < len(lines) else "")
            m = MIRROR.search(text)
            if not m:
                continue
            cfn = m.group(1)
            cfile = m.group(2) or m.group(3) or ""
            swift = ""
            for j in range(i + 1, min(i + 15, len(lines))):
                if lines[j].strip().startswith("///") or lines[j].strip().startswith("@"):
                    continue
                d = DECL.match(lines[j])
                if d:
                    swift = d.group(1) or ("init" if "init" in lines[j] else "")
                break
            rows.append((layer_of(path), cfn, cfile, path, swift))

# Internal steps are reached through a public entry point; tests name that instead.
REACHED_BY = {
    "cmdCellCreate": r"create\(|cellCreate\(", "cmdCellDestroy": r"destroy\(|cellDestroy\(",
    "cmdCellLoad": r"cellLoad\(|shutdown\(", "loadImage": r"cellLoad\(", "cmdCellStart": r"start\(|cellStart\(",
    "cellDestroyNonRoot": r"disable\(", "cmdDisable": r"disable\(", "maxCPUs": r"enable\(|\.enable,",
    "cmdEnable": r"enable\(|\.enable,", "firmwareFree": r"enableFailuresRollBack|enableFaults",
    "cellDelete": r"create\(|destroy\(", "cellManagementPrologue": r"noEntry|rootCellCannotBeManaged",
    "cellRegister": r"create\(", "findCell": r"\.name\(|\.id\(", "pciAddDevice": r"pci", "pciDoAllDevices": r"pci-demo",
    "pciRegisterStub": r"stubDriverName", "pciRemoveDevice": r"pci", "pciVirtualRootDevicesAdd": r"ivshmem|pci",
    "pciVirtualRootDevicesRemove": r"disable\(", "infoShow": r"mem_pool", "sysfsCellCreate": r"statistics",
    "sysfsCellDelete": r"statistics", "sysfsInit": r"/sys/devices/jailhouse", "stateShow": r"/state",
    # Hypervisor internals are reached through hypercalls.
    "archCellCreate": r"\.cellCreate", "archCellDestroy": r"\.cellDestroy|hv_arch_cell_create",
    "cellExit": r"hv_mmio_cell_init|\.cellDestroy", "cellInit": r"cpuSetSize|hv_unit_cell_init|CAT|IOAPIC",
    "remapToRoot": r"loadable|hv_remap_to_root", "cellDestroyInternal": r"\.cellDestroy",
    "cellGetState": r"\.cellGetState", "managementPrologue": r"\.cellStart|\.cellDestroy|\.cellSetLoadable",
    "cellSetLoadable": r"\.cellSetLoadable", "exchangeMessage": r"SHUTDOWN|inmate|Inmate",
    "cpuGetInfo": r"\.cpuGetInfo", "hypervisorGetInfo": r"\.hypervisorGetInfo", "panicPark": r"crashing",
    "alloc": r"hv_page_alloc|pool", "free": r"hv_page_alloc|pool", "parkCPU": r"parked", "resetCPU": r"\.cellStart",
    "reconfigCompleted": r"RECONFIG|reconfig", "reconfigOK": r"locking|RUNNING_LOCKED|runningLocked",
    "cellResume": r"suspend", "cellSuspend": r"suspend",
    "storeOnline": r"/online", "kernelAddress": r"kernelAddress|physicalAddress", "driver": r"addDynamicID|bind\(",
    "matches": r"addDynamicID|bind\(", "unregisterDriver": r"registerDriver",
}

def tests_for(layer, swift):
    """Test files of the layer's own target that call the Swift name; failing that, any
    test file that calls it (higher layers exercise lower ones)."""
    if not swift or len(swift) < 4:
        return []
    pattern = REACHED_BY.get(swift, r"\b" + swift + r"\s*\(")
    for where in ([f"Tests/{layer}Tests"] if os.path.isdir(f"Tests/{layer}Tests") else []) + ["Tests"]:
        out = subprocess.run(["grep", "-rlE", "--include=*.swift", pattern, where], capture_output=True, text=True).stdout
        files = sorted(set(p.split("/")[-1] for p in out.split()))
        if files:
            return files
    return []

order = ["JHLinux", "JHHypervisor", "JHDriver", "JHMachine", "JHConfig", "JHLab", "JHABI", "jhsim"]
rows.sort(key=lambda r: (order.index(r[0]) if r[0] in order else 99, r[3], r[1]))
with open("Docs/correspondence.md", "w", encoding="utf-8") as out:
    out.write("# Correspondence: C function → Swift → tests\n\n")
    out.write("Generated by `python3 scripts/correspondence.py` from the \"Mirrors `…`\" lines of the\n")
    out.write("doc comments; `CorrespondenceTests` keeps it complete. C files are in siemens/jailhouse\n")
    out.write("(driver/, hypervisor/) or Linux (kernel/, drivers/, mm/, lib/, fs/).\n")
    layer = None
    for lay, cfn, cfile, path, swift in rows:
        if lay != layer:
            layer = lay
            out.write(f"\n## {lay}\n\n| C | C file | Swift | tests |\n|---|---|---|---|\n")
        tests = ", ".join(tests_for(lay, swift)) or "—"
        sw = f"`{swift}` in {path}" if swift else path
        out.write(f"| `{cfn}` | {cfile or '—'} | {sw} | {tests} |\n")
print(f"{len(rows)} rows")
