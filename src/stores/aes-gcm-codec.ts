// AES-256-GCM for journal payloads, on node:crypto: confidential and tamper-evident at rest.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto"
import type { PayloadCodec } from "./codec.ts"

/**
 * A 32-byte AES-256 key: bytes, or text of 64 hex characters or base64 (standard or URL-safe).
 * With an `id` (letters, digits, `_`, `-`), payloads name the key by it; without one, by a
 * fingerprint of the key (a hash, which says nothing of the key).
 *
 * @example
 * const current: AesGcmKey = { id: "2026-01", key: process.env.JOURNAL_KEY ?? "" }
 */
export type AesGcmKey = Uint8Array | string | { readonly id?: string; readonly key: Uint8Array | string }

// The format's version and algorithm; a later format gets another prefix, and this one stays readable.
const prefix = "aesgcm1"
const ivBytes = 12
const tagBytes = 16

const keyBytesOf = (key: Uint8Array | string, position: number): Buffer => {
  const text = typeof key === "string" ? key.trim() : undefined
  const bytes =
    text === undefined
      ? Buffer.from(key)
      : /^[0-9a-f]{64}$/i.test(text)
        ? Buffer.from(text, "hex")
        : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)
          ? Buffer.from(text, "base64")
          : undefined
  // Never the key itself in a message: only what is wrong with it.
  if (text !== undefined && /^[0-9a-f]+$/i.test(text) && text.length !== 64) {
    throw new RangeError(`aesGcmCodec: key ${position + 1} has ${text.length} hex characters; AES-256 needs 64 (32 bytes, e.g. openssl rand -hex 32)`)
  }
  if (bytes === undefined) throw new RangeError(`aesGcmCodec: key ${position + 1} is neither 64 hex characters nor base64`)
  if (bytes.length !== 32) throw new RangeError(`aesGcmCodec: key ${position + 1} has ${bytes.length} bytes; AES-256 needs 32 (e.g. openssl rand -base64 32)`)
  return bytes
}

const fingerprintOf = (bytes: Buffer): string => createHash("sha256").update("switchboard journal key id\n").update(bytes).digest("hex").slice(0, 12)

/**
 * A {@link PayloadCodec} that encrypts each payload with AES-256-GCM under a fresh random 12-byte
 * IV. The stored text is `aesgcm1:<key id>:<base64 of IV, tag and ciphertext>`; the prefix is the
 * format's version. Give several keys to rotate: the first encrypts, and a payload is decrypted by
 * the key its id names, so entries written under an older key stay readable while it is listed.
 * A payload whose key is not listed, or that the key does not open (a wrong key under the same id,
 * altered bytes), fails with a message naming the key id, never the key.
 *
 * @example
 * const journal = sqliteJournal({ path: "runs.db", codec: aesGcmCodec([{ id: "2026", key: process.env.JOURNAL_KEY ?? "" }, { id: "2025", key: process.env.OLD_KEY ?? "" }]) })
 */
export const aesGcmCodec = (keys: AesGcmKey | readonly AesGcmKey[]): PayloadCodec => {
  const list = (Array.isArray(keys) ? keys : [keys]) as readonly AesGcmKey[]
  if (list.length === 0) throw new RangeError("aesGcmCodec needs at least one key")
  const byId = new Map<string, Buffer>()
  const ids: string[] = []
  list.forEach((entry, position) => {
    const given = typeof entry === "string" || entry instanceof Uint8Array ? { key: entry } : entry
    const bytes = keyBytesOf(given.key, position)
    const id = given.id ?? fingerprintOf(bytes)
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new RangeError(`aesGcmCodec: key id ${JSON.stringify(id)} must be 1 to 64 letters, digits, "_" or "-"`)
    if (byId.has(id)) throw new RangeError(`aesGcmCodec: two keys have the id "${id}"`)
    byId.set(id, bytes)
    ids.push(id)
  })
  const currentId = ids[0] as string
  const current = byId.get(currentId) as Buffer
  // The header is authenticated too: a payload moved under another key id does not decrypt.
  const headerOf = (id: string) => Buffer.from(`${prefix}:${id}:`)

  return {
    encode: (payload) => {
      const iv = randomBytes(ivBytes)
      const cipher = createCipheriv("aes-256-gcm", current, iv, { authTagLength: tagBytes })
      cipher.setAAD(headerOf(currentId))
      const ciphertext = Buffer.concat([cipher.update(payload, "utf8"), cipher.final()])
      return `${prefix}:${currentId}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64")}`
    },
    decode: (stored) => {
      const [version, id, body, ...rest] = stored.split(":")
      if (version !== prefix || id === undefined || body === undefined || rest.length > 0) {
        throw new Error(`it is not an ${prefix} payload (expected "${prefix}:<key id>:<data>")`)
      }
      const key = byId.get(id)
      if (key === undefined) throw new Error(`it was encrypted with key id "${id}", and this codec has only ${ids.map((known) => `"${known}"`).join(", ")}`)
      const bytes = Buffer.from(body, "base64")
      if (bytes.length < ivBytes + tagBytes) throw new Error(`its ${prefix} data is cut short (${bytes.length} bytes)`)
      const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, ivBytes), { authTagLength: tagBytes })
      decipher.setAAD(headerOf(id))
      decipher.setAuthTag(bytes.subarray(ivBytes, ivBytes + tagBytes))
      try {
        return Buffer.concat([decipher.update(bytes.subarray(ivBytes + tagBytes)), decipher.final()]).toString("utf8")
      } catch {
        throw new Error(`key "${id}" does not open it: a different key under that id, or the data was altered`)
      }
    },
  }
}
