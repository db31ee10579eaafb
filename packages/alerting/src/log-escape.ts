/**
 * Control characters in log lines. The same rule as `escapeControlChars` in @bizmon/core's
 * logger; repeated here because the bridge is installed on its own and does not pull in core
 * (and with it the OpenTelemetry SDK) for one regular expression.
 *
 * C0 controls (line feed, carriage return, ESC…), DEL, C1 controls (0x9b is a one-byte CSI on
 * some terminals), the Unicode line and paragraph separators and the bidirectional overrides.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Escapes control characters as `\n`, `\r`, `\t` or `\uXXXX`: a label key or an error message
 * echoed into a log line cannot forge a second line or drive the operator's terminal.
 */
export function escapeControlChars(text: string): string {
  return text.replace(
    CONTROL,
    (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
