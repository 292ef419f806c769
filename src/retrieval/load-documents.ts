import type { RetrievalDocument } from "../contract/retriever.ts"

/**
 * Options of {@link chunkText} and {@link loadDocuments}.
 *
 * @example
 * const options: ChunkOptions = { maxChars: 800 }
 */
export interface ChunkOptions {
  /** A chunk grows paragraph by paragraph up to this many characters (default 1200, about 300 tokens). */
  readonly maxChars?: number
}

/**
 * Splits a text into chunks for retrieval. Markdown headings (`#` … `######`) start a new chunk
 * and become its `title`; within a section, paragraphs (separated by blank lines) are joined until
 * the next one would pass `maxChars`; a single paragraph longer than that is split at sentence
 * ends (or, failing that, at `maxChars`). Chunk ids are `<source>#<n>`, counting from 1.
 *
 * @example
 * const chunks = chunkText("# Refunds\n\nRefunds take 5 days.\n\n# Shipping\n\nWe ship daily.", { source: "faq.md" })
 * chunks.map((chunk) => chunk.title) // ["Refunds", "Shipping"]
 */
export const chunkText = (text: string, options: ChunkOptions & { readonly source: string }): RetrievalDocument[] => {
  const maxChars = options.maxChars ?? 1200
  if (!Number.isInteger(maxChars) || maxChars < 50) throw new RangeError(`chunkText: maxChars must be an integer >= 50, got ${maxChars}`)
  const chunks: RetrievalDocument[] = []
  const emit = (title: string | undefined, body: string) => {
    const trimmed = body.trim()
    if (trimmed === "") return
    chunks.push({ id: `${options.source}#${chunks.length + 1}`, text: trimmed, source: options.source, ...(title === undefined ? {} : { title }) })
  }
  for (const section of sectionsOf(text)) {
    let current = ""
    for (const paragraph of section.paragraphs.flatMap((paragraph) => splitLong(paragraph, maxChars))) {
      if (current !== "" && current.length + 2 + paragraph.length > maxChars) {
        emit(section.title, current)
        current = ""
      }
      current = current === "" ? paragraph : `${current}\n\n${paragraph}`
    }
    emit(section.title, current)
  }
  return chunks
}

const sectionsOf = (text: string): Array<{ title: string | undefined; paragraphs: string[] }> => {
  const sections: Array<{ title: string | undefined; paragraphs: string[] }> = [{ title: undefined, paragraphs: [] }]
  let paragraph: string[] = []
  const endParagraph = () => {
    if (paragraph.length > 0) (sections.at(-1) as { paragraphs: string[] }).paragraphs.push(paragraph.join("\n"))
    paragraph = []
  }
  for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)
    if (heading !== null) {
      endParagraph()
      sections.push({ title: heading[1] as string, paragraphs: [] })
    } else if (line.trim() === "") endParagraph()
    else paragraph.push(line)
  }
  endParagraph()
  return sections
}

const splitLong = (paragraph: string, maxChars: number): string[] => {
  if (paragraph.length <= maxChars) return [paragraph]
  const pieces: string[] = []
  let current = ""
  for (const sentence of paragraph.match(/[^.!?]+(?:[.!?]+|$)\s*/g) ?? [paragraph]) {
    for (let rest = sentence; rest !== ""; ) {
      // A "sentence" longer than a chunk (no punctuation) is cut at the limit.
      const room = maxChars - current.length
      if (rest.length <= room) {
        current += rest
        rest = ""
      } else if (current !== "") {
        pieces.push(current.trim())
        current = ""
      } else {
        pieces.push(rest.slice(0, maxChars).trim())
        rest = rest.slice(maxChars)
      }
    }
  }
  if (current.trim() !== "") pieces.push(current.trim())
  return pieces.filter((piece) => piece !== "")
}

/**
 * Reads every `.md`, `.markdown` and `.txt` file under a folder (recursively, in path order) and
 * chunks each with {@link chunkText}. A chunk's `source` is the file's path relative to the folder.
 * Rejects with an error naming the folder when it cannot be read.
 *
 * @example
 * const handbook = lexicalRetriever({ documents: loadDocuments("docs/handbook") })
 */
export const loadDocuments = async (folder: string, options: ChunkOptions = {}): Promise<RetrievalDocument[]> => {
  const { readdir, readFile } = await import("node:fs/promises")
  const { join, relative, sep } = await import("node:path")
  let entries
  try {
    entries = await readdir(folder, { recursive: true, withFileTypes: true })
  } catch (error) {
    throw new Error(`loadDocuments: cannot read folder "${folder}": ${error instanceof Error ? error.message : String(error)}`)
  }
  const files = entries
    .filter((entry) => entry.isFile() && /\.(md|markdown|txt)$/i.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
  const documents: RetrievalDocument[] = []
  for (const file of files) {
    const source = relative(folder, file).split(sep).join("/")
    documents.push(...chunkText(await readFile(file, "utf8"), { ...options, source }))
  }
  return documents
}
