/// Usage text of the learner-facing commands.
public enum Help {
    /// The `lab init` synopsis, shared by this help and the argument-parser front end.
    public static let labInit =
        "lab init [--cpus N] [--seed S] [--profile upstream|fixed] [--executor dispatch|inline] [--cost NAME=NS]... [--force]"

    static let main = """
    Usage: jhsim COMMAND [ARGS] [--lab DIR] [--fault RULE]... [--caps TEXT]

    A deterministic simulator of the Jailhouse partitioning hypervisor. Commands that
    overlap with the real `jailhouse` tool take the same arguments and print the same
    output and errors.

    The lab (a simulated machine that lives across invocations, in ./.jhsim, --lab DIR
    or $JHSIM_LAB):
      \(Help.labInit)
      lab reset                      power-cycle: drop everything that was done
      lab info                       parameters and the command log

    Like tools/jailhouse.c:
      enable [SYSCONFIG]             default on a 4-CPU lab: the built-in qemu-x86
      disable
      console [-f|--follow]
      cell create CELLCONFIG         a built-in name (tiny-demo, …) works when no such file exists
      cell list [--json]
      cell load {ID|[--name] NAME} {IMAGE | -s|--string STRING} [-a|--address ADDRESS] ...
      cell start {ID|[--name] NAME} [--inmate KIND]
      cell shutdown {ID|[--name] NAME}
      cell destroy {ID|[--name] NAME}
      cell stats {ID|[--name] NAME}

    Beyond the real tool:
      cpu online|offline N           admin CPU hotplug
      cpus [--json]                  every CPU as Linux, the driver and the hypervisor see it
      inmate {ID|[--name] NAME} KIND choose how a cell's inmate behaves
      trace [--last N|--all] [--explain] [--chrome FILE.json]
      draw timeline [-o FILE.svg]    CPU ownership over virtual time
      draw states [-o FILE.dot]      hotplug and cell state machines (Graphviz)
      run SCENARIO [--trace] [--json] [--in-lab]
      demo                           the guided tour (no files needed)
      faults list                    every fault site, for --fault
      faults sweep|campaign|shrink|run  fault-injection research (Docs/fault-injection.md)
      quirks                         upstream quirks and whether the lab's profile has them
      config ...                     check, show, build configurations
      --version, --help

    --fault 'SITE[:cpu=N][:state=S][:nth=N][:errno=E]' (repeatable) injects a failure
    into a command that runs the machine, e.g. --fault 'cpu_down:cpu=3:nth=1:errno=EBUSY'.
    --caps TEXT runs the command's process with these capabilities (libcap text, e.g. '=').

    """

    /// Usage lines per command, for `jhsim COMMAND --help`.
    static func usage(_ command: String) -> String? {
        switch command {
        case "lab": "usage: jhsim \(labInit)\n       jhsim lab reset\n       jhsim lab info\n"
        case "enable": "usage: jhsim enable [SYSCONFIG]\n  Without SYSCONFIG, a 4-CPU lab uses the built-in qemu-x86 system config.\n"
        case "disable": "usage: jhsim disable\n"
        case "console": "usage: jhsim console [-f|--follow]\n"
        case "cell": """
            usage: jhsim cell create CELLCONFIG
                   jhsim cell list [--json]
                   jhsim cell load {ID|[--name] NAME} {IMAGE | -s|--string STRING} [-a|--address ADDRESS] ...
                   jhsim cell start {ID|[--name] NAME} [--inmate KIND]
                   jhsim cell shutdown {ID|[--name] NAME}
                   jhsim cell destroy {ID|[--name] NAME}
                   jhsim cell stats {ID|[--name] NAME}

            """
        case "cpu": "usage: jhsim cpu online|offline N\n"
        case "cpus": "usage: jhsim cpus [--json]\n"
        case "inmate": "usage: jhsim inmate {ID|[--name] NAME} KIND\n"
        case "trace": "usage: jhsim trace [--last N|--all] [--explain] [--chrome FILE.json]\n"
        case "draw": "usage: jhsim draw timeline [-o FILE.svg]\n       jhsim draw states [-o FILE.dot]\n"
        case "run": "usage: jhsim run SCENARIO [--trace] [--json] [--in-lab]\n"
        case "demo": "usage: jhsim demo\n"
        case "faults": """
            usage: jhsim faults list [--json]
                   jhsim faults sweep [SCENARIO] [--profile upstream|fixed] [--sites A,B] [--errnos] [--depth 1|2] [--max-runs N] [--compare-profiles] [--check-expect] [--isolate] [--json]
                   jhsim faults campaign [SCENARIO] --seed S --runs N [--rules-per-run K] [--sites A,B] [--no-shrink] [--profile P] [--check-expect] [--isolate] [--json]
                   jhsim faults shrink [SCENARIO] --rule RULE... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--isolate] [--json]
                   jhsim faults run [SCENARIO] --rule RULE... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--trace|--explain] [--compare-profiles] [--json]
              Without SCENARIO: the built-in create/start/load/destroy/disable scenario.
              Exit status: \(faultsExitStatus)
              `jhsim faults SUBCOMMAND --help` explains one subcommand.

            """
        case "quirks": "usage: jhsim quirks\n"
        default: nil
        }
    }

    /// The exit statuses of `jhsim faults sweep|campaign|shrink|run`.
    static let faultsExitStatus = "0 clean, 1 usage, 2 invariant violation, 3 hang, 4 expectation failed, 5 trap (--isolate), 6 quirk (documented upstream behaviour, named), 7 liveness (the box does not recover), 8 vacuous (nothing tested, or the fault-free run fails)."

    /// `jhsim faults SUBCOMMAND --help`.
    public static func faultsUsage(_ sub: String) -> String? {
        let rule = "RULE is SITE[:cpu=N][:state=S][:nth=N][:after=N][:count=N][:prob=P][:errno=E] (see Docs/fault-injection.md; sites: jhsim faults list)."
        let body: String
        switch sub {
        case "list":
            body = """
                usage: jhsim faults list [--json]
                  Every fault site: its layer, default errno, whether it concerns a CPU, and what failing it means.
                  --json   one object per site (name, layer, errno, perCPU, meaning, states)
                """
        case "sweep":
            body = """
                usage: jhsim faults sweep [SCENARIO] [--profile upstream|fixed] [--sites A,B] [--errnos] [--depth 1|2] [--max-runs N] [--compare-profiles] [--check-expect] [--isolate] [--json]
                  One run per (site, hit) the fault-free run reaches, with exactly that hit failing.
                  --sites A,B          only these sites (exit 8 if the scenario reaches none of them)
                  --errnos             every plausible errno of a site, not only its default
                  --depth 2            every pair: each single fault, then every hit its run reaches after it
                  --max-runs N         at most N runs, sampled evenly across sites (pairs: across the whole list)
                  --compare-profiles   run every plan on upstream and fixed; name the quirk behind each difference
                  --check-expect       judge the scenario's expect lines under faults too
                  --isolate            every run in a child process (a trap becomes outcome trap)
                  --json               one object: runs, clean, violations, quirks, hangs, crashes, cases, …
                """
        case "campaign":
            body = """
                usage: jhsim faults campaign [SCENARIO] --seed S --runs N [--rules-per-run K] [--sites A,B] [--no-shrink] [--profile P] [--check-expect] [--isolate] [--json]
                  N runs of random multi-fault plans drawn from seed S (swarm: each run a random subset of sites,
                  sites drawn uniformly, never the same plan twice; hits reached only under faults join as found).
                  Failing plans are shrunk, keeping the failure's signature.
                """
        case "shrink":
            body = """
                usage: jhsim faults shrink [SCENARIO] --rule RULE... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--isolate] [--json]
                  Shrinks a failing plan to a minimal one with the same failure (class, line, message):
                  prob= rules become the nth= rules that fired, then rules are dropped and made to fire earlier.
                  \(rule)
                """
        case "run":
            body = """
                usage: jhsim faults run [SCENARIO] --rule RULE... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--trace|--explain] [--compare-profiles] [--json]
                  One run under a plan: the transcript, the liveness phase, what fired, what the checks found.
                  --trace / --explain  the run's trace (or its narration), injected faults marked with !!
                  --compare-profiles   run the plan on both profiles and name the quirk behind a difference
                  \(rule)
                """
        default: return nil
        }
        return body + "\n  Exit status: \(faultsExitStatus)\n"
    }
}

