/**
 * The token cursor the Jinja parser reads from: look at the current token, test, skip or expect
 * one, and fail with a TemplateSyntaxError naming the line.
 */
import { TemplateSyntaxError } from "./errors.ts";
import type { Token, TokenType } from "./lexer.ts";

export class TokenStream {
  protected pos = 0;
  constructor(protected readonly tokens: readonly Token[]) {}

  get current(): Token {
    return this.tokens[this.pos] as Token;
  }

  next(): Token {
    const token = this.current;
    if (token.type !== "eof") this.pos++;
    return token;
  }

  fail(message: string, token = this.current): never {
    throw new TemplateSyntaxError(message, token.line);
  }

  is(type: TokenType, value?: string): boolean {
    const token = this.current;
    return token.type === type && (value === undefined || token.value === value);
  }

  skip(type: TokenType, value?: string): boolean {
    if (!this.is(type, value)) return false;
    this.next();
    return true;
  }

  expect(type: TokenType, value?: string): Token {
    if (!this.is(type, value)) {
      const got = this.current;
      this.fail(`expected ${value ?? type}, got ${got.type === "eof" ? "end of template" : `'${got.value || got.type}'`}`);
    }
    return this.next();
  }

  /** The token `offset` places after the current one. */
  protected peek(offset: number): Token | undefined {
    return this.tokens[this.pos + offset];
  }
}
