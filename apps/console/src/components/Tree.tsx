import { useRef, useState, type KeyboardEvent } from 'react';

export interface TreeNode {
  id: string;
  label: string;
  children?: TreeNode[];
}

interface Flat {
  node: TreeNode;
  level: number;
  parent: string | null;
}

function flatten(nodes: TreeNode[], expanded: Set<string>, level = 1, parent: string | null = null, out: Flat[] = []): Flat[] {
  for (const node of nodes) {
    out.push({ node, level, parent });
    if (node.children && expanded.has(node.id)) flatten(node.children, expanded, level + 1, node.id, out);
  }
  return out;
}

/** WAI-ARIA tree: arrows move, Right/Left expand/collapse, Enter or click selects. */
export function Tree({
  label,
  nodes,
  selected,
  onSelect,
  initiallyExpanded,
}: {
  label: string;
  nodes: TreeNode[];
  selected: string;
  onSelect: (id: string) => void;
  initiallyExpanded: string[];
}) {
  const [expanded, setExpanded] = useState(() => new Set(initiallyExpanded));
  const [focused, setFocused] = useState(selected);
  const refs = useRef(new Map<string, HTMLLIElement>());
  const flat = flatten(nodes, expanded);

  const focus = (id: string) => {
    setFocused(id);
    refs.current.get(id)?.focus();
  };
  const toggle = (id: string, open?: boolean) =>
    setExpanded((prev) => {
      const next = new Set(prev);
      if (open ?? !next.has(id)) next.add(id);
      else next.delete(id);
      return next;
    });

  const onKeyDown = (e: KeyboardEvent, f: Flat) => {
    const i = flat.findIndex((x) => x.node.id === f.node.id);
    const hasKids = !!f.node.children?.length;
    switch (e.key) {
      case 'ArrowDown':
        if (flat[i + 1]) focus(flat[i + 1]!.node.id);
        break;
      case 'ArrowUp':
        if (flat[i - 1]) focus(flat[i - 1]!.node.id);
        break;
      case 'ArrowRight':
        if (hasKids && !expanded.has(f.node.id)) toggle(f.node.id, true);
        else if (hasKids) focus(f.node.children![0]!.id);
        break;
      case 'ArrowLeft':
        if (hasKids && expanded.has(f.node.id)) toggle(f.node.id, false);
        else if (f.parent) focus(f.parent);
        break;
      case 'Home':
        focus(flat[0]!.node.id);
        break;
      case 'End':
        focus(flat[flat.length - 1]!.node.id);
        break;
      case 'Enter':
      case ' ':
        onSelect(f.node.id);
        break;
      default:
        return;
    }
    e.preventDefault();
    e.stopPropagation();
  };

  const render = (list: TreeNode[], level: number, parent: string | null) =>
    list.map((node) => {
      const hasKids = !!node.children?.length;
      const open = expanded.has(node.id);
      const f: Flat = { node, level, parent };
      return (
        <li
          key={node.id}
          role="treeitem"
          aria-level={level}
          aria-selected={selected === node.id}
          aria-expanded={hasKids ? open : undefined}
          tabIndex={focused === node.id ? 0 : -1}
          ref={(el) => {
            if (el) refs.current.set(node.id, el);
            else refs.current.delete(node.id);
          }}
          onKeyDown={(e) => onKeyDown(e, f)}
          onFocus={(e) => {
            if (e.target === e.currentTarget) setFocused(node.id);
          }}
          onClick={(e) => {
            e.stopPropagation();
            setFocused(node.id);
            onSelect(node.id);
          }}
        >
          <span className={selected === node.id ? 'tree-label selected' : 'tree-label'} style={{ paddingLeft: `${(level - 1) * 14 + 4}px` }}>
            <span
              className="twisty"
              aria-hidden="true"
              onClick={(e) => {
                if (!hasKids) return;
                e.stopPropagation();
                toggle(node.id);
              }}
            >
              {hasKids ? (open ? '▾' : '▸') : ''}
            </span>
            {node.label}
          </span>
          {hasKids && open && <ul role="group">{render(node.children!, level + 1, node.id)}</ul>}
        </li>
      );
    });

  return (
    <ul role="tree" aria-label={label} className="tree">
      {render(nodes, 1, null)}
    </ul>
  );
}
