import { describe, expect, it } from "vitest"
import { mask, parseJournal } from "../../src/cli/journal-option.ts"

describe("--journal values", () => {
  it("reads memory, sqlite:PATH and postgres:URL[#schema]", () => {
    expect(parseJournal()).toEqual({ kind: "memory" })
    expect(parseJournal("sqlite:.switchboard/runs.db")).toEqual({ kind: "sqlite", path: ".switchboard/runs.db" })
    expect(parseJournal("postgres:postgres://app@db:5432/app")).toEqual({ kind: "postgres", connectionString: "postgres://app@db:5432/app", schema: undefined })
    expect(parseJournal("postgres:postgresql://app@db/app#billing")).toEqual({
      kind: "postgres",
      connectionString: "postgresql://app@db/app",
      schema: "billing",
    })
    // No URL: postgresJournal falls back to SWITCHBOARD_DATABASE_URL.
    expect(parseJournal("postgres:")).toEqual({ kind: "postgres", connectionString: undefined, schema: undefined })
    expect(parseJournal("postgres:#billing")).toEqual({ kind: "postgres", connectionString: undefined, schema: "billing" })
  })

  it("refuses anything else with a usage error", () => {
    expect(() => parseJournal("sqlite:")).toThrow(/--journal must be "memory", "sqlite:PATH" or "postgres:URL\[#schema\]"/)
    expect(() => parseJournal("postgres://db/app")).toThrow(/needs a postgres:\/\/ URL after "postgres:"/)
    expect(() => parseJournal("postgres:postgres://db/app#")).toThrow(/the schema after "#" is empty/)
  })

  it("masks a password for printing", () => {
    expect(mask("postgres:postgres://app:s3cret@db/app#billing")).toBe("postgres:postgres://app:***@db/app#billing")
    expect(mask("postgres:postgres://app@db/app")).toBe("postgres:postgres://app@db/app")
  })
})
