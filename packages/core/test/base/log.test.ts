import fc from 'fast-check';
import { escapeControlChars } from '@bizmon/core/internal';

describe('escapeControlChars', () => {
  test('escapes line breaks, ANSI escapes, C1 controls and bidi overrides', () => {
    expect(escapeControlChars('a\nb\rc\td\u001b[31me\u009bf\u2028g\u202eh\u0000')).toBe(
      'a\\nb\\rc\\td\\u001b[31me\\u009bf\\u2028g\\u202eh\\u0000',
    );
  });

  test('output has no control characters; text without them is unchanged', () => {
    const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = escapeControlChars(s);
        expect(out).not.toMatch(control);
        if (!control.test(s)) expect(out).toBe(s);
      }),
    );
  });
});
