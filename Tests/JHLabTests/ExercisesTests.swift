import Foundation
import Testing
@testable import JHLab

/// Docs/exercises: every answer key passes `jhsim run`, every worksheet has the key's
/// commands and questions, and an unanswered worksheet fails at its first question.
@Suite(.serialized) struct ExercisesTests {
    static let dir = repositoryRoot + "/Docs/exercises"
    static let sheets = ["1-busy-or-offline", "2-hypercall-rollback", "3-upstream", "3-fixed"]

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func answerKeysPassAndWorksheetsMatchThem() throws {
        guard standardBoxAvailable else { return }
        let runner = LabCommandRunner(factory: .standard, environment: LabEnvironment(currentDirectory: NSTemporaryDirectory()))
        for name in Self.sheets {
            let key = Self.dir + "/solutions/\(name).jhsim", sheet = Self.dir + "/\(name).jhsim"
            let r = runner.run(["run", key])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            // The same commands and machine line in the same order.
            func commands(_ l: [String]) -> [String] { l.filter { !$0.hasPrefix("#") && !$0.hasPrefix("expect ") } }
            #expect(commands(try lines(sheet)) == commands(try lines(key)), "\(name)")
            #expect(try lines(sheet).allSatisfy { !$0.hasPrefix("expect ") }, "\(name): the worksheet gives no answers away")
            // Every question of the worksheet is answered in the key with its points.
            let questions = try lines(sheet).filter { $0.hasPrefix("# Q") }.map { String($0.prefix(while: { $0 != ")" })) }
            #expect(questions.count >= 4, "\(name)")
            let keyText = try String(contentsOfFile: key, encoding: .utf8)
            for q in questions { #expect(keyText.contains(q + ")"), "\(name): \(q)") }
            // Unanswered, the worksheet stops at its first failing command or answer.
            #expect(runner.run(["run", sheet]).status == 1, "\(name)")
        }
    }

    @Test func eachExerciseIsWorthTenPoints() throws {
        for (names, total) in [(["1-busy-or-offline"], 10), (["2-hypercall-rollback"], 10), (["3-upstream", "3-fixed"], 20)] {
            var points = 0
            for n in names {
                for l in try lines(Self.dir + "/\(n).jhsim") where l.hasPrefix("# Q") {
                    let inside = l.drop(while: { $0 != "(" }).dropFirst().prefix(while: { $0.isNumber })
                    points += Int(inside) ?? 0
                }
            }
            #expect(points == total, "\(names): \(points) points")
        }
    }

    @Test func theExerciseSheetsLinkEveryWorksheetAndGiveHints() throws {
        for (doc, hint) in [("exercises.md", "*Hint"), ("exercises.zh.md", "*提示")] {
            let text = try String(contentsOfFile: repositoryRoot + "/Docs/" + doc, encoding: .utf8)
            for n in Self.sheets { #expect(text.contains("(exercises/\(n).jhsim)"), "\(doc): \(n)") }
            #expect(text.components(separatedBy: hint).count - 1 >= 9, "\(doc) has hints for every exercise")
            #expect(text.contains("hypercall:nr=CELL_CREATE"))
        }
    }
}
