/** One CSV record: its fields and the line it starts on (1-based). */
export interface CsvRecord {
  readonly fields: readonly string[]
  readonly line: number
}

/** A CSV text that breaks RFC 4180 quoting, with the line where it happens. */
export class CsvSyntaxError extends Error {
  override readonly name = "CsvSyntaxError"
  readonly line: number
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`)
    this.line = line
  }
}

/**
 * Parses CSV as RFC 4180 says: comma-separated fields, double-quoted fields may hold commas,
 * line breaks and `""` for a quote; CRLF or LF line ends; a final line break is optional. Blank
 * lines are skipped. Throws a {@link CsvSyntaxError} naming the line of an unclosed quote or of
 * text after a closing quote.
 *
 * @example
 * parseCsv('a,b\n1,"x, ""y"""\n') // [{ fields: ["a", "b"], line: 1 }, { fields: ["1", 'x, "y"'], line: 2 }]
 */
export const parseCsv = (text: string): CsvRecord[] => {
  const records: CsvRecord[] = []
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text
  let fields: string[] = []
  let field = ""
  let line = 1
  let recordLine = 1
  let index = 0
  let quoted = false
  let quoteLine = 0
  const endField = () => {
    fields.push(field)
    field = ""
  }
  const endRecord = () => {
    endField()
    if (!(fields.length === 1 && fields[0] === "")) records.push({ fields, line: recordLine })
    fields = []
    recordLine = line
  }
  while (index < source.length) {
    const char = source[index] as string
    if (quoted) {
      if (char === '"') {
        if (source[index + 1] === '"') {
          field += '"'
          index += 2
          continue
        }
        quoted = false
        const after = source[index + 1]
        if (after !== undefined && after !== "," && after !== "\n" && after !== "\r") {
          throw new CsvSyntaxError(line, `unexpected ${JSON.stringify(after)} after a closing quote (write a quote inside a quoted field as "")`)
        }
      } else {
        if (char === "\n") line++
        field += char
      }
      index++
      continue
    }
    if (char === '"') {
      if (field !== "") throw new CsvSyntaxError(line, `a quote inside an unquoted field (quote the whole field and write the quote as "")`)
      quoted = true
      quoteLine = line
    } else if (char === ",") endField()
    else if (char === "\r" || char === "\n") {
      if (char === "\r" && source[index + 1] === "\n") index++
      line++
      endRecord()
    } else field += char
    index++
  }
  if (quoted) throw new CsvSyntaxError(quoteLine, "a quoted field is never closed")
  if (field !== "" || fields.length > 0) endRecord()
  return records
}
