import { ValidationError } from './errors.js'

const EMAIL_PATTERN = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/

/** A form checkbox or a JSON boolean: ticked is `on` (HTML), `true` or `1`. */
export function isChecked(value: unknown): boolean {
  return value === true || value === 'true' || value === 'on' || value === '1'
}

/** Collects every problem with an input before failing, so a form can show them all at once. */
export class InputChecker {
  readonly #problems: Record<string, string> = {}

  text(
    field: string,
    value: unknown,
    options: { label: string; min?: number; max: number; multiline?: boolean },
  ): string {
    const text = typeof value === 'string' ? value.trim() : ''
    const min = options.min ?? 1
    if (text.length < min)
      this.#problems[field] =
        min === 1
          ? `${options.label} is required.`
          : `${options.label} needs at least ${String(min)} characters.`
    else if (text.length > options.max)
      this.#problems[field] = `${options.label} must be at most ${String(options.max)} characters.`
    else if (hasControlCharacter(text, options.multiline === true))
      this.#problems[field] = `${options.label} must not contain control characters.`
    return text
  }

  email(field: string, value: unknown): string {
    const email = typeof value === 'string' ? value.trim().toLowerCase() : ''
    if (email.length === 0) this.#problems[field] = 'Email is required.'
    else if (email.length > 254 || !EMAIL_PATTERN.test(email))
      this.#problems[field] = 'Enter an email address like name@example.com.'
    return email
  }

  add(field: string, problem: string): void {
    this.#problems[field] ??= problem
  }

  assertValid(): void {
    if (Object.keys(this.#problems).length > 0) throw new ValidationError({ ...this.#problems })
  }
}

/**
 * C0 controls, DEL and the C1 controls (U+0080 to U+009F, such as the terminal escape CSI);
 * line breaks and tabs are allowed in multi-line text (markdown messages).
 */
function hasControlCharacter(text: string, multiline: boolean): boolean {
  for (const char of text) {
    const code = char.charCodeAt(0)
    if (multiline && (code === 0x0a || code === 0x0d || code === 0x09)) continue
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true
  }
  return false
}
