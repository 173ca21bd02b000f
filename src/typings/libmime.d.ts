// libmime ships no types; we use one function of it (the same copy mailparser and imapflow use).
declare module 'libmime' {
  export function decodeWords(value: string): string;
}
