import JHABI
import JHMachine

/// The Chinese narration (`--lang zh`, or a zh locale), keyed like `Narration.table`.
///
/// It uses the seed walkthrough's words — 单元, 根单元, CPU 热插拔, 下线/上线, 超级调用 —
/// and leaves C names (`remove_cpu`, `offlined_cpus`, `JAILHOUSE_CELL_CREATE`) as they
/// are. A step without an entry here falls back to the English text.
enum NarrationZH {
    typealias Text = @Sendable (TraceEvent, Narration.Fields) -> String

    /// glibc's zh_CN `strerror` texts for the errnos the driver returns.
    static func message(_ e: Errno) -> String {
        switch e {
        case .busy: "设备或资源忙"
        case .exists: "文件已存在"
        case .invalidArgument: "无效的参数"
        case .noEntry: "没有那个文件或目录"
        case .noMemory: "无法分配内存"
        case .notPermitted: "不允许的操作"
        case .interrupted: "被中断的系统调用"
        case .badAddress: "错误的地址"
        case .ioError: "输入/输出错误"
        case .noDevice: "没有那个设备"
        default: e.message
        }
    }

    static func resultWords(_ r: TraceResult) -> String {
        switch r {
        case .none: "无"
        case .ok: "0（成功）"
        case .value(let v): v == 0 ? "0（成功）" : "\(v)"
        case .error(let e): "-\(e.name)（\(message(e))）"
        }
    }

    static func key(_ l: TraceLayer, _ op: String) -> String { Narration.key(l, op) }

    static func exportedCPUDown(_ e: TraceEvent, _ f: Narration.Fields) -> String {
        let c = f.cpu(e)
        switch (e.phase, e.result) {
        case (.begin, _):
            return "驱动 → linux：cpu_down(\(c))——种子文档里的 jailhouse_cmd_cell_create（Linux 5.6）从 Linux 手里拿走 CPU \(c)；它绕过了 CPU 设备，所以 /sys/devices/system/cpu/cpu\(c)/online 仍然读出 1"
        case (_, .error(let err)):
            return "linux：cpu_down(\(c)) 失败，返回 -\(err.name)；驱动必须撤销已经做过的事"
        default:
            return "linux：CPU \(c) 已下线（cpu_online_mask），但没有人告诉它的设备，sysfs 的 online 文件也不知道"
        }
    }

    static func exportedCPUUp(_ e: TraceEvent, _ f: Narration.Fields) -> String {
        let c = f.cpu(e)
        switch (e.phase, e.result) {
        case (.begin, _):
            return "驱动 → linux：cpu_up(\(c))——种子文档里的驱动把 CPU \(c) 还给 Linux（INIT/SIPI 经过 hypervisor），同样绕过 CPU 设备"
        case (_, .error(let err)):
            return "linux：cpu_up(\(c)) 失败，返回 -\(err.name)；这颗 CPU 仍然下线"
        default:
            return "linux：CPU \(c) 重新上线；sysfs 的 online 文件还是原来的值"
        }
    }

    static let table: [String: Text] = [
        key(.user, "command"): { _, f in "用户：执行 `jhsim \(f.raw)`" },
        key(.user, "done"): { e, _ in
            switch e.result {
            case .error(let err): "用户：命令失败，返回 \(err.name)（\(message(err))）"
            default: "用户：命令完成"
            }
        },
        key(.driver, "ioctl"): { e, f in
            e.phase == .end ? "驱动：\(f.name) 向用户空间返回 \(resultWords(e.result))"
                : "用户 → 驱动：对 /dev/jailhouse 调用 ioctl \(f.name)"
        },
        key(.driver, "open"): { e, _ in
            "用户 → 驱动：open(\"/dev/jailhouse\")\(e.result == .ok ? "" : " → \(resultWords(e.result))")"
        },
        key(.linux, "remove_cpu"): { e, f in
            let c = f.cpu(e)
            switch (e.phase, e.result) {
            case (.begin, _) where f.admin: return "管理员 → linux：为这次 sysfs 写入调用 remove_cpu(\(c))——Linux 让 CPU \(c) 下线，和驱动无关"
            case (.begin, _): return "驱动 → linux：remove_cpu(\(c))——jailhouse_cmd_cell_create 先从 Linux 手里拿走 CPU \(c)，hypervisor 才能把它交给新单元"
            case (_, .error(let err)) where f.admin: return "linux：remove_cpu(\(c)) 失败，返回 -\(err.name)；这次写入失败，CPU \(c) 仍然在线"
            case (_, .error(let err)): return "linux：remove_cpu(\(c)) 失败，返回 -\(err.name)；驱动必须撤销已经做过的事"
            case (_, .value(1)): return "linux：CPU \(c) 本来就已下线，无事可做"
            default: return "linux：CPU \(c) 已下线，Linux 不再在它上面调度任何任务"
            }
        },
        key(.linux, "add_cpu"): { e, f in
            let c = f.cpu(e)
            switch (e.phase, e.result) {
            case (.begin, _) where f.admin: return "管理员 → linux：为这次 sysfs 写入调用 add_cpu(\(c))——Linux 让 CPU \(c) 重新上线（INIT/SIPI），和驱动无关"
            case (.begin, _): return "驱动 → linux：add_cpu(\(c))——驱动把 CPU \(c) 还给 Linux（INIT/SIPI 经过 hypervisor）"
            case (_, .error(let err)): return "linux：add_cpu(\(c)) 失败，返回 -\(err.name)；这颗 CPU 仍然下线"
            case (_, .value(1)): return "linux：CPU \(c) 本来就在线"
            default: return "linux：CPU \(c) 重新上线，又回到 Linux 手中"
            }
        },
        key(.driver, "remove_cpu"): { e, f in
            "驱动：remove_cpu(\(f.cpu(e))) 失败，返回 \(resultWords(e.result))——jailhouse_cmd_cell_create 跳到 error_cpu_online 回滚"
        },
        key(.driver, "cpu_down"): { e, f in
            "驱动：cpu_down(\(f.cpu(e))) 失败，返回 \(resultWords(e.result))——种子文档里的 jailhouse_cmd_cell_create 跳到 error_cpu_online 回滚"
        },
        key(.driver, "cpu_up"): { e, f in
            "驱动：\(f.raw.contains("rollback") ? "回滚中" : "")cpu_up(\(f.cpu(e))) → \(resultWords(e.result))"
        },
        key(.driver, "add_cpu"): { e, f in
            "驱动：\(f.raw.contains("rollback") ? "回滚中" : "")add_cpu(\(f.cpu(e))) → \(resultWords(e.result))"
        },
        key(.driver, "offlined_cpus"): { e, f in
            let c = f.cpu(e), now = f["now"].map { $0.isEmpty ? "空" : $0 } ?? "?"
            if f.raw.hasPrefix("clear") { return "驱动：CPU \(c) 已回到 Linux，从 offlined_cpus 中去掉（现在是 \(now)）" }
            if f.raw.hasPrefix("keep") { return "驱动：add_cpu(\(c)) 失败，CPU \(c) 却仍留在 offlined_cpus 里（现在是 \(now)）" }
            if f.raw.hasSuffix("not in offlined_cpus") { return "驱动：CPU \(c) 不在 offlined_cpus 里（不是驱动让它下线的），所以它保持下线" }
            return "驱动：把 CPU \(c) 记进 offlined_cpus（\(now)），销毁单元时好把它还回去"
        },
        key(.driver, "root_cpus"): { e, f in
            let c = f.cpu(e), now = f["now"].map { $0.isEmpty ? "空" : $0 } ?? "?"
            return f.raw.hasPrefix("clear") ? "驱动：从 root_cell->cpus_assigned 中去掉 CPU \(c)（现在是 \(now)）"
                : "驱动：把 CPU \(c) 放回 root_cell->cpus_assigned（现在是 \(now)）"
        },
        key(.driver, "jailhouse_enabled"): { e, f in
            f.raw == "no" ? "驱动：jailhouse_enabled 为假——还没有 `jhsim enable`，无从管理单元 → \(resultWords(e.result))"
                : "驱动：jailhouse_enabled 已经为真——hypervisor 正在运行，再次 enable → \(resultWords(e.result))"
        },
        key(.driver, "find_cell"): { e, f in
            f.raw.hasSuffix("not found")
                ? "驱动：find_cell 找不到 \(f["cell"] ?? f.raw.replacingOccurrences(of: " not found", with: "")) 对应的单元 → \(resultWords(e.result))"
                : "驱动：find_cell 发现已有单元 \(f["id"] ?? "?") 叫 \(f["name"] ?? "?") → \(resultWords(e.result))"
        },
        key(.driver, "cpu0"): { e, _ in
            "驱动：这个单元要 CPU 0，而 x86 上的 Linux 不能交出 CPU 0（\"Cannot assign CPU 0 to other cells\"）→ \(resultWords(e.result))；跳到 error_cpu_online"
        },
        key(.driver, "cpu_online"): { e, f in
            "驱动：CPU \(f.cpu(e)) 已经下线（管理员让它下线的），`if (cpu_online(cpu))` 跳过它：不调用 remove_cpu，也不记进 offlined_cpus"
        },
        key(.driver, "hypercall_failed"): { e, f in
            "驱动：\(f.name) 失败，返回 \(resultWords(e.result))——jailhouse_cmd_cell_create 跳到 error_cpu_online，撤销对 CPU 的改动"
        },
        key(.driver, "cpumask_subset"): { e, f in
            "驱动：这个单元的 CPU（\(f["cell"] ?? "?")）是否都还属于根单元（\(f["root"] ?? "?")）？\(e.result == .ok || e.result == .none ? "" : "不是 → \(resultWords(e.result))")"
        },
        key(.driver, "cell_register"): { _, f in "驱动：登记这个单元（\(f.raw)），从此 sysfs 里能看到它" },
        key(.driver, "cell_delete"): { _, f in "驱动：删除它的单元对象（\(f.raw)），sysfs 目录随之消失" },
        key(.linux, "sysfs_store"): { e, f in
            let c = f.cpu(e)
            if f["value"] == nil {
                return "管理员 → linux：\(f["path"] ?? "这个文件") 不存在——x86 上的 Linux 没有给 CPU 0 提供上线/下线开关，写入失败 → \(resultWords(e.result))"
            }
            return f["value"] == "0" ? "管理员 → linux：echo 0 > /sys/devices/system/cpu/cpu\(c)/online——管理员手动让 CPU \(c) 下线"
                : "管理员 → linux：echo 1 > /sys/devices/system/cpu/cpu\(c)/online——管理员手动让 CPU \(c) 上线"
        },
        key(.linux, "cpu_down"): { e, f in
            switch (e.phase, e.result) {
            case (.begin, _): "linux：开始让 CPU \(f.cpu(e)) 下线，一个热插拔状态接一个状态地拆"
            case (_, .error(let err)): "linux：CPU \(f.cpu(e)) 下线失败（-\(err.name)），已经恢复原状"
            default: "linux：CPU \(f.cpu(e)) 下线完成"
            }
        },
        key(.linux, "cpu_up"): { e, f in
            switch (e.phase, e.result) {
            case (.begin, _): "linux：开始让 CPU \(f.cpu(e)) 上线（先 INIT/SIPI，再逐个热插拔状态）"
            case (_, .error(let err)): "linux：CPU \(f.cpu(e)) 上线失败（-\(err.name)）"
            default: "linux：CPU \(f.cpu(e)) 上线完成"
            }
        },
        key(.linux, "cpuhp_teardown"): { e, f in
            "linux：CPU \(f.cpu(e)) 下线步骤 \(f["state"] ?? "?") 执行 \(f["fn"] ?? "?") → \(resultWords(e.result))"
        },
        key(.linux, "cpuhp_bringup"): { e, f in
            "linux：CPU \(f.cpu(e)) 上线步骤 \(f["state"] ?? "?") 执行 \(f["fn"] ?? "?") → \(resultWords(e.result))"
        },
        key(.hypervisor, "hypercall"): { e, f in
            e.phase == .end ? "hypervisor：\(f.name) 返回 \(resultWords(e.result))"
                : "驱动 → hypervisor：超级调用 \(f.name)\(e.result == .none ? "" : "，结果 \(resultWords(e.result))")"
        },
        key(.hypervisor, "owner"): { e, f in
            "hypervisor：CPU \(f.cpu(e)) 现在归单元 \(f["cell"] ?? "?")（\(f["name"] ?? "?")）所有"
        },
        key(.hypervisor, "park"): { e, f in "hypervisor：让 CPU \(f.cpu(e)) 停住（停在等待 SIPI 的状态，直到有人重新启动它）" },
        key(.hypervisor, "panic_park"): { e, f in "hypervisor：CPU \(f.cpu(e)) 出了故障，进入 panic 停机状态" },
        key(.hypervisor, "message"): { e, f in
            let cell = f["cell"] ?? "?", msg = f["msg"] ?? "?"
            if e.phase == .begin { return "hypervisor：通过通信区向单元 \(cell) 发送 \(msg)，等待回答" }
            if e.phase == .end, let reply = f["reply"] { return "hypervisor：单元 \(cell) 回答 \(reply)\(e.result == .ok ? "" : " → \(resultWords(e.result))")" }
            if e.phase == .end { return "hypervisor：单元 \(cell) 没有回答 \(msg) → \(resultWords(e.result))" }
            return "hypervisor：单元 \(cell) 的通信区是被动的，\(msg) 不需要回答"
        },
        key(.hypervisor, "cell_create"): { e, f in
            e.result == .ok ? "hypervisor：单元 \(f["id"] ?? "?")（\(f["name"] ?? "?")）建好了，它的 CPU 停着等待启动"
                : "hypervisor：cell_create 失败，返回 \(resultWords(e.result))；已经做的准备全部撤销"
        },
        key(.hypervisor, "cell_start"): { e, f in
            e.result == .ok ? "hypervisor：复位 \(f["name"] ?? "这个单元") 的 CPU，让它们运行 inmate"
                : "hypervisor：cell_start 失败，返回 \(resultWords(e.result))"
        },
        key(.hypervisor, "cell_set_loadable"): { e, f in
            e.result == .ok ? "hypervisor：停下 \(f["name"] ?? "这个单元")，让它的 CPU 停住，并把它的可加载内存映射进根单元"
                : "hypervisor：cell_set_loadable → \(resultWords(e.result))"
        },
        key(.hypervisor, "cell_destroy"): { _, f in "hypervisor：销毁 \(f["name"] ?? "这个单元")；它的 CPU 和内存回到根单元" },
        key(.hypervisor, "cell_state"): { _, f in "hypervisor：单元 \(f["cell"] ?? "?") 的通信区状态现在是 \(f["state"] ?? "?")" },
        key(.hypervisor, "prologue"): { e, f in "hypervisor：拒绝这次管理调用（\(f.raw)）→ \(resultWords(e.result))" },
        key(.hypervisor, "reconfig_check"): { e, _ in "hypervisor：另一个单元锁住了配置 → \(resultWords(e.result))" },
        key(.hypervisor, "cell_exists"): { e, f in "hypervisor：id 或名字为 \(f["name"] ?? "?") 的单元已经存在 → \(resultWords(e.result))" },
        key(.hypervisor, "cpu_check"): { e, f in "hypervisor：CPU \(f["cpus"] ?? "?") 并不都归根单元，没法分出去 → \(resultWords(e.result))" },
        key(.hypervisor, "enable"): { e, f in
            e.phase == .end
                ? (e.result == .ok ? "hypervisor：启用完成：每颗 CPU 都运行在 hypervisor 之下，Linux 成为根单元" : "hypervisor：启用失败：\(resultWords(e.result))")
                : "hypervisor：CPU \(f["cpus"] ?? "?") 进入 hypervisor"
        },
        key(.hypervisor, "disable"): { _, f in "hypervisor：关闭，把 CPU \(f["released"] ?? "?") 交还给直接运行在硬件上的 Linux" },
        key(.hypervisor, "sipi"): { e, f in
            e.result == .ok ? "hypervisor：放行发给 CPU \(f.cpu(e)) 的启动 IPI（它属于根单元）"
                : "hypervisor：拦下发给 CPU \(f.cpu(e)) 的启动 IPI（\(f.raw)）→ \(resultWords(e.result))"
        },
        key(.hypervisor, "suspend"): { e, f in "hypervisor：暂停 CPU \(f.cpu(e))，配置变化期间它所在的单元不能运行" },
        key(.hypervisor, "resume"): { e, f in "hypervisor：恢复 CPU \(f.cpu(e))" },
        key(.fault, "inject"): { e, f in
            "⚡ 在 \(f.raw) 注入故障：这一步失败，返回 \(resultWords(e.result))——注意接下来的回滚"
        },
    ]
}
