import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { DatasetError, loadDataset, parseCsvDataset, parseJsonl } from "../../../src/index.ts"

const caught = (run: () => unknown): DatasetError => {
  try {
    run()
  } catch (error) {
    if (error instanceof DatasetError) return error
    throw error
  }
  throw new Error("expected a DatasetError")
}

describe("JSONL datasets", () => {
  it("reads one row per line, skipping blank lines", () => {
    const rows = parseJsonl('{"input":{"ticket":"a"},"expected":"bug"}\n\n{"id":"r2","input":"b","expectPath":["x","y"],"metadata":{"source":"mail"}}\n')
    expect(rows).toEqual([
      { input: { ticket: "a" }, expected: "bug" },
      { id: "r2", input: "b", expectPath: ["x", "y"], metadata: { source: "mail" } },
    ])
  })

  it("names the row and line of invalid JSON", () => {
    const error = caught(() => parseJsonl('{"input":1}\n\n{"input": 2,}\n', "tickets.jsonl"))
    expect(error).toMatchObject({ row: 2, line: 3, source: "tickets.jsonl" })
    expect(error.message).toMatch(/^tickets\.jsonl row 2 \(line 3\): not valid JSON/)
  })

  it("names the row and each field of a row of the wrong shape", () => {
    const error = caught(() => parseJsonl('{"input":1}\n{"expected":"x","expectPath":"a>b","colour":"red"}\n', "tickets.jsonl"))
    expect(error.row).toBe(2)
    expect(error.message).toContain("tickets.jsonl row 2 (line 2): ")
    expect(error.message).toContain("input: is required")
    expect(error.message).toContain("expectPath: ")
    expect(error.message).toContain('Unrecognized key: "colour"')
  })
})

describe("CSV datasets", () => {
  it("parses RFC 4180 quoting: commas, line breaks and doubled quotes inside quoted fields, CRLF", () => {
    const rows = parseCsvDataset(
      'id,input.ticket,input.orderId,expected,expectPath,decisions.review,note\r\nr1,"Refund, please","A-1",refund,classify > refund,,vip\r\nr2,"Line one\nsaid ""hi""",,"{""kind"":""bug""}",classify answer,"{""kind"":""bug""}",\r\n',
    )
    expect(rows).toEqual([
      { id: "r1", input: { ticket: "Refund, please", orderId: "A-1" }, expected: "refund", expectPath: ["classify", "refund"], metadata: { note: "vip" } },
      {
        id: "r2",
        input: { ticket: 'Line one\nsaid "hi"' },
        expected: { kind: "bug" },
        expectPath: ["classify", "answer"],
        decisions: { review: { kind: "bug" } },
      },
    ])
  })

  it("names the row and line of a row with the wrong number of fields", () => {
    const error = caught(() => parseCsvDataset('input.ticket,expected\n"a\nb",bug\nrefund please, now,refund\n', "tickets.csv"))
    expect(error).toMatchObject({ row: 2, line: 4 })
    expect(error.message).toBe("tickets.csv row 2 (line 4): has 3 fields, the header has 2 (quote fields that contain commas)")
  })

  it("names the line of an unclosed quote and of text after a closing quote", () => {
    expect(caught(() => parseCsvDataset('input.ticket\nok\n"never closed\n', "t.csv")).message).toBe("t.csv line 3: a quoted field is never closed")
    expect(caught(() => parseCsvDataset('input.ticket\n"closed"x\n', "t.csv")).message).toMatch(/^t\.csv line 2: unexpected "x" after a closing quote/)
  })

  it("names the row without input and the column with invalid JSON", () => {
    expect(caught(() => parseCsvDataset("input.ticket,expected\nhi,bug\n,bug\n", "t.csv")).message).toMatch(/^t\.csv row 2 \(line 3\): has no input/)
    expect(caught(() => parseCsvDataset('input.ticket,decisions.review\nhi,"{kind: bug}"\n', "t.csv")).message).toMatch(
      /^t\.csv row 1 \(line 2\): column decisions\.review is not valid JSON/,
    )
  })
})

describe("loadDataset", () => {
  it("reads .jsonl, .csv and .json files and refuses other extensions", async () => {
    const folder = mkdtempSync(join(tmpdir(), "switchboard-dataset-"))
    writeFileSync(join(folder, "rows.jsonl"), '{"input":{"ticket":"a"}}\n')
    writeFileSync(join(folder, "rows.csv"), "input.ticket\na\n")
    writeFileSync(join(folder, "rows.json"), '[{"input":{"ticket":"a"}},{"inputs":1}]')
    writeFileSync(join(folder, "rows.txt"), "")
    const expected = [{ input: { ticket: "a" } }]
    expect(await loadDataset(join(folder, "rows.jsonl"))).toEqual(expected)
    expect(await loadDataset(join(folder, "rows.csv"))).toEqual(expected)
    await expect(loadDataset(join(folder, "rows.json"))).rejects.toThrow(/rows\.json row 2: .*input: is required/)
    await expect(loadDataset(join(folder, "rows.txt"))).rejects.toThrow(/unknown dataset format "\.txt"/)
    await expect(loadDataset(join(folder, "missing.csv"))).rejects.toBeInstanceOf(DatasetError)
  })
})
