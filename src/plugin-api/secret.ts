// A secret value that cannot leak by accident: it prints, serialises and inspects as "[REDACTED]".
// Only `reveal()` gives the value, and only transport code (XAPI login) should call it.

const REDACTED = '[REDACTED]';
const value = Symbol('secret.value');

export class Secret {
  private readonly [value]: string;

  constructor(secret: string) {
    this[value] = secret;
  }

  reveal(): string {
    return this[value];
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

export const REDACTED_TEXT = REDACTED;
