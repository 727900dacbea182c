// A few lines instead of a UI framework: create elements with attributes and children.
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined | ((e: Event) => void)> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children) {
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else if (child) parent.appendChild(document.createTextNode(child));
  }
}

export function replaceChildren(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Polite announcements for screen readers (price moves, suspensions, bet decisions). */
export class Announcer {
  private readonly region: HTMLElement;
  private queue: string[] = [];
  private timer: number | undefined;

  constructor(region: HTMLElement) {
    this.region = region;
  }

  say(text: string): void {
    this.queue.push(text);
    // Batched: a burst of price moves becomes one announcement, not a flood.
    this.timer ??= window.setTimeout(() => {
      this.region.textContent = this.queue.slice(-5).join(". ");
      this.queue = [];
      this.timer = undefined;
    }, 400);
  }
}
