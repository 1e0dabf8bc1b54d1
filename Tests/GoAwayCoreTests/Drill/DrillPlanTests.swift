import Testing

@testable import GoAwayCore

struct DrillPlanTests {
    @Test func defaultsFitInUnderAMinute() throws {
        let plan = DrillPlan.defaults
        try plan.validate()
        #expect(plan.duration == .seconds(20))
        #expect(plan.concurrency == 32)
        #expect(plan.servers == 3)
        #expect(plan.phases == [.rollingRestart, .goAwayStorm, .maxAgeRotation, .hardKill])
        #expect(plan.modes == [.goAwayKit, .naive])
        #expect(plan.phaseDuration == .seconds(5))
        #expect(plan.duration * plan.modes.count < .seconds(60))
    }

    @Test func rollingRestartsEachServerInTurnEvenlySpaced() {
        let plan = DrillPlan(duration: .seconds(16), phases: [.rollingRestart])
        #expect(plan.steps(for: .rollingRestart) == [
            DrillStep(at: .seconds(4), action: .restart(server: 0)),
            DrillStep(at: .seconds(8), action: .restart(server: 1)),
            DrillStep(at: .seconds(12), action: .restart(server: 2)),
        ])
    }

    @Test func hardKillKillsOneServerMidPhaseAndBringsItBack() {
        let plan = DrillPlan(duration: .seconds(20))
        #expect(plan.steps(for: .hardKill) == [
            DrillStep(at: .seconds(2), action: .kill(server: 0)),
            DrillStep(at: .milliseconds(3500), action: .start(server: 0)),
        ])
        #expect(plan.steps(for: .goAwayStorm) == [])
        #expect(plan.steps(for: .maxAgeRotation) == [])
    }

    @Test func policiesPerPhase() {
        let plan = DrillPlan(duration: .seconds(20), stormMaxRequests: 100)
        let storm = plan.connectionPolicy(for: .goAwayStorm)
        #expect(storm.maxRequestsPerConnection == 100)
        #expect(storm.maxAge == nil)
        let rotation = plan.connectionPolicy(for: .maxAgeRotation)
        #expect(rotation.maxAge == .milliseconds(1250))
        #expect(rotation.maxRequestsPerConnection == nil)
        for phase in DrillPhase.allCases {
            // Drains stay bounded well inside a phase.
            #expect(plan.connectionPolicy(for: phase).pingAckTimeout == .seconds(1))
            #expect(plan.connectionPolicy(for: phase).drainGrace == .seconds(5))
        }
        let restart = plan.connectionPolicy(for: .rollingRestart)
        #expect(restart.maxAge == nil && restart.maxRequestsPerConnection == nil)
        // A short CI drill still rotates at a sane pace.
        #expect(DrillPlan(duration: .seconds(1)).connectionPolicy(for: .maxAgeRotation).maxAge == .milliseconds(250))
    }

    @Test(arguments: [
        (DrillPlan(duration: .milliseconds(500)), DrillPlan.Invalid.duration),
        (DrillPlan(concurrency: 0), .concurrency),
        (DrillPlan(servers: 1), .servers),
        (DrillPlan(phases: []), .noPhase),
        (DrillPlan(modes: []), .noMode),
        (DrillPlan(stormMaxRequests: 0), .stormMaxRequests),
    ])
    func invalidPlans(_ plan: DrillPlan, _ expected: DrillPlan.Invalid) {
        #expect(throws: expected) { try plan.validate() }
    }

    @Test func phaseFlagsAcceptShortForms() {
        #expect(DrillPhase(flag: "restart") == .rollingRestart)
        #expect(DrillPhase(flag: "STORM") == .goAwayStorm)
        #expect(DrillPhase(flag: "max-age") == .maxAgeRotation)
        #expect(DrillPhase(flag: "kill") == .hardKill)
        #expect(DrillPhase(flag: "reboot") == nil)
    }

    @Test func requestMixIsHalfPostsWithBodiesAndHasSlowRoutes() {
        let kinds = (0..<20).map(DrillRequestKind.forRequest)
        #expect(kinds.filter { $0.method == "POST" }.count == 10)
        #expect(kinds.filter { $0.method == "POST" }.allSatisfy { $0.bodySize > 0 && !$0.idempotent })
        #expect(kinds.filter { $0.method == "GET" }.allSatisfy { $0.bodySize == 0 && $0.idempotent })
        #expect(kinds.filter { $0.path.hasPrefix("/delay/") }.count == 6)
        #expect(DrillRequestKind.forRequest(20) == DrillRequestKind.forRequest(0))
    }
}
