import { readFile } from "node:fs/promises"
import { extname } from "node:path"
import { CsvSyntaxError, parseCsv } from "./csv.ts"
import { zod } from "./zod-lazy.ts"

/**
 * One labelled example: the run input, what it should produce, the steps it should go through,
 * and what simulated people decide at human steps (`decisions`, applied at every visit of the
 * step; `expire` lists human steps whose deadline passes instead).
 *
 * @example
 * const row: EvalRow = { input: { ticket: "Refund please" }, expected: "refund", expectPath: ["classify", "answer"] }
 */
export interface EvalRow {
  readonly id?: string
  readonly input: unknown
  readonly expected?: unknown
  readonly expectPath?: readonly string[]
  readonly decisions?: Readonly<Record<string, unknown>>
  readonly expire?: readonly string[]
  readonly metadata?: Readonly<Record<string, unknown>>
}

/**
 * A dataset row that cannot be used, with where it is: `row` counts data rows from 1 (a CSV
 * header is not a row), `line` is the line in the file it starts on.
 *
 * @example
 * try { await loadDataset("tickets.csv") } catch (error) { if (error instanceof DatasetError) console.error(error.row, error.message) }
 */
export class DatasetError extends Error {
  override readonly name = "DatasetError"
  readonly source: string
  readonly row: number | undefined
  readonly line: number | undefined
  constructor(source: string, where: { readonly row?: number; readonly line?: number }, problem: string) {
    const place =
      where.row === undefined
        ? where.line === undefined
          ? ""
          : ` line ${where.line}`
        : ` row ${where.row}${where.line === undefined ? "" : ` (line ${where.line})`}`
    super(`${source}${place}: ${problem}`)
    this.source = source
    this.row = where.row
    this.line = where.line
  }
}

let rowSchema: ReturnType<typeof buildRowSchema> | undefined
const buildRowSchema = () => {
  const z = zod()
  return z
    .object({
      id: z.string().optional(),
      input: z.unknown().refine((value) => value !== undefined, "is required"),
      expected: z.unknown().optional(),
      expectPath: z.array(z.string()).optional(),
      decisions: z.record(z.string(), z.unknown()).optional(),
      expire: z.array(z.string()).optional(),
      metadata: z.record(z.string(), z.unknown()).optional(),
    })
    .strict()
}
const RowSchema = () => (rowSchema ??= buildRowSchema())

/**
 * Checks one row's shape, throwing a {@link DatasetError} that names the row and each problem.
 *
 * @example
 * const row = checkRow({ input: { ticket: "hi" } }, "inline data", { row: 1 })
 */
export const checkRow = (value: unknown, source: string, where: { readonly row: number; readonly line?: number }): EvalRow => {
  const parsed = RowSchema().safeParse(value)
  if (parsed.success) return parsed.data as EvalRow
  const issues = parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(row)"}: ${issue.message}`)
  throw new DatasetError(source, where, issues.join("; "))
}

/**
 * Parses JSON Lines: one row object per line, blank lines skipped.
 *
 * @example
 * parseJsonl('{"input":{"ticket":"hi"},"expected":"other"}\n') // [{ input: { ticket: "hi" }, expected: "other" }]
 */
export const parseJsonl = (text: string, source = "JSONL data"): EvalRow[] => {
  const rows: EvalRow[] = []
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === "") continue
    const where = { row: rows.length + 1, line: index + 1 }
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      throw new DatasetError(source, where, `not valid JSON (${error instanceof Error ? error.message : String(error)})`)
    }
    rows.push(checkRow(value, source, where))
  }
  return rows
}

/**
 * Parses CSV (RFC 4180) with a header row. Columns: `input` (JSON, or text), `input.FIELD`
 * (text; an empty cell leaves the field out), `expected` (JSON when it parses, else the text),
 * `expected.FIELD`, `expectPath` (step names separated by `>` or spaces, or a JSON array),
 * `decisions.STEP` (JSON), `expire` (step names), `id`, `metadata.FIELD`; any other column
 * goes to `metadata`.
 *
 * @example
 * parseCsvDataset("input.ticket,expected\nRefund please,refund\n") // [{ input: { ticket: "Refund please" }, expected: "refund" }]
 */
export const parseCsvDataset = (text: string, source = "CSV data"): EvalRow[] => {
  let records
  try {
    records = parseCsv(text)
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new DatasetError(source, { line: error.line }, error.message.replace(/^line \d+: /, ""))
    throw error
  }
  const [header, ...data] = records
  if (header === undefined) return []
  const columns = header.fields.map((name) => name.trim())
  return data.map((record, index) => {
    const where = { row: index + 1, line: record.line }
    if (record.fields.length !== columns.length) {
      throw new DatasetError(source, where, `has ${record.fields.length} fields, the header has ${columns.length} (quote fields that contain commas)`)
    }
    const row: Record<string, unknown> = {}
    const put = (group: string, field: string, value: unknown) => {
      const target = (row[group] ??= {}) as Record<string, unknown>
      target[field] = value
    }
    for (const [position, column] of columns.entries()) {
      const cell = record.fields[position] as string
      const [group, ...rest] = column.split(".")
      const field = rest.join(".")
      if (column === "input") row["input"] = jsonOrText(cell)
      else if (column === "expected") {
        if (cell !== "") row["expected"] = jsonOrText(cell)
      } else if (column === "expectPath") {
        if (cell !== "")
          row["expectPath"] = cell.trim().startsWith("[") ? json(cell, column, source, where) : cell.split(/\s*>\s*|\s+/).filter((step) => step !== "")
      } else if (column === "expire") {
        if (cell !== "") row["expire"] = cell.split(/[\s,>]+/).filter((step) => step !== "")
      } else if (column === "id") row["id"] = cell
      else if ((group === "input" || group === "expected" || group === "metadata") && field !== "") {
        if (cell !== "") put(group, field, cell)
      } else if (group === "decisions" && field !== "") {
        if (cell !== "") put("decisions", field, json(cell, column, source, where))
      } else if (cell !== "") put("metadata", column, cell)
    }
    if (!("input" in row)) throw new DatasetError(source, where, "has no input: add an `input` column (JSON) or `input.FIELD` columns with a value")
    return checkRow(row, source, where)
  })
}

const jsonOrText = (cell: string): unknown => {
  try {
    return JSON.parse(cell)
  } catch {
    return cell
  }
}

const json = (cell: string, column: string, source: string, where: { row: number; line: number }): unknown => {
  try {
    return JSON.parse(cell)
  } catch (error) {
    throw new DatasetError(source, where, `column ${column} is not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
}

/**
 * Reads a dataset file by its extension: `.jsonl`/`.ndjson` (JSON Lines), `.csv`, or `.json`
 * (an array of rows). Throws a {@link DatasetError} naming the row and line of a malformed row.
 *
 * @example
 * const rows = await loadDataset("examples/data/support-tickets.jsonl")
 */
export const loadDataset = async (path: string): Promise<EvalRow[]> => {
  const extension = extname(path).toLowerCase()
  if (![".jsonl", ".ndjson", ".csv", ".json"].includes(extension)) {
    throw new DatasetError(path, {}, `unknown dataset format "${extension || "(no extension)"}": use .jsonl, .csv or .json`)
  }
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (error) {
    throw new DatasetError(path, {}, `cannot read it (${error instanceof Error ? error.message : String(error)})`)
  }
  if (extension === ".csv") return parseCsvDataset(text, path)
  if (extension !== ".json") return parseJsonl(text, path)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new DatasetError(path, {}, `not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (!Array.isArray(value)) throw new DatasetError(path, {}, "a .json dataset must be an array of rows")
  return value.map((row, index) => checkRow(row, path, { row: index + 1 }))
}
