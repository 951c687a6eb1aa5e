import { navigate, usePath } from '../../lib/router.js';
import { Tree, type TreeNode } from '../../components/Tree.js';
import { ProtectionsTable } from './ProtectionsTable.js';
import { Profiles } from './Profiles.js';
import { Exceptions } from './Exceptions.js';

const NODES: TreeNode[] = [
  {
    id: 'protections',
    label: 'Protections',
    children: [
      {
        id: 'by-protocol',
        label: 'By Protocol',
        children: [
          {
            id: 'application-intelligence',
            label: 'Application Intelligence',
            children: [{ id: 'mail', label: 'Mail', children: [{ id: 'smtp', label: 'SMTP' }] }],
          },
        ],
      },
    ],
  },
  { id: 'profiles', label: 'Profiles' },
  { id: 'exceptions', label: 'Network Exceptions' },
];
const PROTECTION_NODES = ['protections', 'by-protocol', 'application-intelligence', 'mail', 'smtp'];
const TRAIL: Record<string, string[]> = {
  protections: ['Protections'],
  'by-protocol': ['Protections', 'By Protocol'],
  'application-intelligence': ['Protections', 'By Protocol', 'Application Intelligence'],
  mail: ['Protections', 'By Protocol', 'Application Intelligence', 'Mail'],
  smtp: ['Protections', 'By Protocol', 'Application Intelligence', 'Mail', 'SMTP'],
};

export function IpsTab() {
  const path = usePath();
  const node = path.split('/')[2] || 'smtp';
  const selected = PROTECTION_NODES.includes(node) || node === 'profiles' || node === 'exceptions' ? node : 'smtp';
  return (
    <div className="split">
      <aside className="sidebar">
        <Tree
          label="IPS navigation"
          nodes={NODES}
          selected={selected}
          onSelect={(id) => navigate(id === 'smtp' ? '/ips' : `/ips/${id}`)}
          initiallyExpanded={PROTECTION_NODES}
        />
      </aside>
      <section className="pane" aria-label={selected === 'profiles' ? 'Profiles' : selected === 'exceptions' ? 'Network Exceptions' : 'Protections'}>
        {PROTECTION_NODES.includes(selected) && (
          <>
            <nav aria-label="Breadcrumb" className="crumbs">
              {TRAIL[selected]!.join(' › ')}
            </nav>
            <ProtectionsTable />
          </>
        )}
        {selected === 'profiles' && <Profiles />}
        {selected === 'exceptions' && <Exceptions />}
      </section>
    </div>
  );
}
