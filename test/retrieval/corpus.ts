// A small handbook whose right answers are known: each question below has one best document.
import type { RetrievalDocument } from "../../src/index.ts"

export const handbook: readonly RetrievalDocument[] = [
  {
    id: "refunds",
    title: "Refunds",
    source: "handbook/refunds.md",
    text: "Refunds are paid back to the original card within five working days after the returned parcel arrives.",
  },
  {
    id: "shipping",
    title: "Shipping",
    source: "handbook/shipping.md",
    text: "Parcels ship from the Leeds warehouse every weekday; tracking numbers arrive by email.",
  },
  {
    id: "passwords",
    title: "Passwords",
    source: "handbook/passwords.md",
    text: "To reset a password, open account settings and choose reset; the reset link expires after one hour.",
  },
  {
    id: "invoices",
    title: "Invoices",
    source: "handbook/invoices.md",
    text: "Invoices are issued monthly as PDF documents and list VAT separately for business accounts.",
  },
]

export const openSignal = () => new AbortController().signal
