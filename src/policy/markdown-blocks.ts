import MarkdownIt from 'markdown-it';

/**
 * The one place that walks markdown-it tokens. It flattens a SECURITY.md into the few shapes the
 * policy readers care about — runs of text with their links, lists, tables — each tagged with the
 * heading it sits under and its source line, so no reader ever scans the raw markdown.
 */

type Token = MarkdownIt.Token;

export type Container = 'heading' | 'paragraph' | 'item' | 'cell';

/** One inline run of text: a heading, a paragraph, a list item's paragraph or a table cell. */
export interface TextUnit {
  text: string;
  /** Link targets inside the run (`mailto:…`, `https://…`), including linkified bare addresses. */
  links: string[];
  container: Container;
  /** Text of the nearest heading above (empty before the first heading). */
  section: string;
  line: number | null;
}

export interface ListBlock {
  items: { text: string; line: number | null }[];
  section: string;
  /** The paragraph right before the list (usually "please include…"). */
  lead: string;
  line: number | null;
}

export interface TableBlock {
  header: string[];
  rows: { cells: string[]; line: number | null }[];
  section: string;
  line: number | null;
}

export interface MarkdownBlocks {
  units: TextUnit[];
  lists: ListBlock[];
  tables: TableBlock[];
}

// html: false so raw HTML stays inert text we never interpret; linkify turns bare addresses into
// mailto links the same way GitHub renders them.
const md = new MarkdownIt('commonmark', { html: false, linkify: true }).enable(['table', 'linkify', 'strikethrough']);

/** Plain text of an inline token and the links inside it. Struck-through text is dropped. */
function inlineText(tok: Token): { text: string; links: string[] } {
  const parts: string[] = [];
  const links: string[] = [];
  let struck = 0;
  for (const c of tok.children ?? []) {
    switch (c.type) {
      case 's_open':
        struck++;
        break;
      case 's_close':
        struck = Math.max(0, struck - 1);
        break;
      case 'text':
      case 'code_inline':
        if (!struck) parts.push(c.content);
        break;
      case 'softbreak':
      case 'hardbreak':
        parts.push(' ');
        break;
      case 'image':
        if (!struck) parts.push(c.content);
        break;
      case 'link_open': {
        const href = c.attrGet('href');
        if (href && !struck) links.push(String(href));
        break;
      }
      default:
        break;
    }
  }
  return { text: parts.join('').replace(/\s+/g, ' ').trim(), links };
}

const lineOf = (tok: Token): number | null => (tok.map ? tok.map[0] + 1 : null);

/** Parse markdown into blocks. markdown-it accepts any string; nothing here throws on bad input. */
export function markdownBlocks(source: string): MarkdownBlocks {
  const tokens = md.parse(source, {});
  const units: TextUnit[] = [];
  const lists: ListBlock[] = [];
  const tables: TableBlock[] = [];

  let section = '';
  let lastParagraph = '';
  const listStack: { block: ListBlock; item: { text: string; line: number | null } | null }[] = [];
  let table: TableBlock | null = null;
  let row: { cells: string[]; line: number | null } | null = null;
  let inHead = false;
  let heading = false;
  let itemDepth = 0;

  for (const tok of tokens) {
    switch (tok.type) {
      case 'heading_open':
        heading = true;
        break;
      case 'heading_close':
        heading = false;
        break;
      case 'bullet_list_open':
      case 'ordered_list_open': {
        const block: ListBlock = { items: [], section, lead: lastParagraph, line: lineOf(tok) };
        lists.push(block);
        listStack.push({ block, item: null });
        break;
      }
      case 'bullet_list_close':
      case 'ordered_list_close':
        listStack.pop();
        break;
      case 'list_item_open': {
        const top = listStack[listStack.length - 1];
        if (top) {
          top.item = { text: '', line: lineOf(tok) };
          top.block.items.push(top.item);
        }
        itemDepth++;
        break;
      }
      case 'list_item_close':
        itemDepth = Math.max(0, itemDepth - 1);
        break;
      case 'table_open':
        table = { header: [], rows: [], section, line: lineOf(tok) };
        tables.push(table);
        break;
      case 'table_close':
        table = null;
        break;
      case 'thead_open':
        inHead = true;
        break;
      case 'thead_close':
        inHead = false;
        break;
      case 'tr_open':
        row = { cells: [], line: lineOf(tok) };
        if (table && !inHead) table.rows.push(row);
        break;
      case 'inline': {
        const { text, links } = inlineText(tok);
        const line = lineOf(tok);
        if (heading) {
          section = text;
          units.push({ text, links, container: 'heading', section, line });
        } else if (table && row) {
          if (inHead) table.header.push(text);
          else row.cells.push(text);
          units.push({ text, links, container: 'cell', section, line });
        } else if (itemDepth > 0) {
          const top = listStack[listStack.length - 1];
          if (top?.item) top.item.text = top.item.text ? `${top.item.text} ${text}` : text;
          units.push({ text, links, container: 'item', section, line });
        } else {
          lastParagraph = text;
          units.push({ text, links, container: 'paragraph', section, line });
        }
        break;
      }
      default:
        break;
    }
  }
  return { units, lists, tables };
}
