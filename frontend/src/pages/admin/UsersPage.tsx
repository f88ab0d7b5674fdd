import { useState, type FormEvent } from "react";
import { ApiError, describeError, itemsOf } from "../../api/client";
import { api } from "../../api/endpoints";
import type { Role, UserRow } from "../../api/types";
import { Alert, ScreenView } from "../../components/ui";
import { useAction, useRemote } from "../../hooks/useRemote";

const ROLES: [Role, string][] = [
  ["labeler", "Labeler"],
  ["admin", "Admin"],
  ["ml_engineer", "ML engineer"],
];

export function UsersPage() {
  const { screen, reload } = useRemote(async () => itemsOf(await api.users()), []);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [roles, setRoles] = useState<Role[]>(["labeler"]);
  const create = useAction(async () => api.createUser({ username, password, roles }));
  const fields = create.error instanceof ApiError ? create.error.fields : {};
  const onCreate = async (e: FormEvent) => {
    e.preventDefault();
    if (await create.run()) {
      setUsername("");
      setPassword("");
      reload();
    }
  };
  return (
    <section>
      <h1>Users and roles</h1>
      <ScreenView screen={screen} onRetry={reload} render={(users) => <UserTable users={users} onChanged={reload} />} />
      <h2>New user</h2>
      <form className="stack narrow" onSubmit={onCreate} aria-label="New user">
        <label>
          Username
          <input value={username} onChange={(e) => setUsername(e.target.value)} required />
          {fields.username && <span className="field-error">{fields.username.join(" ")}</span>}
        </label>
        <label>
          Password
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="new-password" />
          {fields.password && <span className="field-error">{fields.password.join(" ")}</span>}
        </label>
        <fieldset>
          <legend>Roles</legend>
          {ROLES.map(([role, text]) => (
            <label key={role} className="check">
              <input type="checkbox" checked={roles.includes(role)} onChange={() => setRoles((r) => (r.includes(role) ? r.filter((x) => x !== role) : [...r, role]))} />
              {text}
            </label>
          ))}
        </fieldset>
        {create.error && <Alert>{describeError(create.error)}</Alert>}
        <button type="submit" disabled={create.pending}>
          Create user
        </button>
      </form>
    </section>
  );
}

function UserTable({ users, onChanged }: { users: UserRow[]; onChanged: () => void }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">User</th>
            {ROLES.map(([, text]) => (
              <th key={text} scope="col">
                {text}
              </th>
            ))}
            <th scope="col">Active</th>
            <th scope="col">
              <span className="visually-hidden">Status</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <UserLine key={u.id} user={u} onChanged={onChanged} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One user's roles and active flag; a change shows at once and is undone if the server refuses it. */
function UserLine({ user, onChanged }: { user: UserRow; onChanged: () => void }) {
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [active, setActive] = useState(user.is_active);
  const update = useAction(async (body: { roles?: Role[]; is_active?: boolean }) => api.updateUser(user.id, body));
  const change = async (body: { roles?: Role[]; is_active?: boolean }) => {
    const before = { roles, active };
    if (body.roles) setRoles(body.roles);
    if (body.is_active !== undefined) setActive(body.is_active);
    const saved = await update.run(body);
    if (saved) {
      setRoles(saved.roles);
      setActive(saved.is_active);
      onChanged();
    } else {
      setRoles(before.roles);
      setActive(before.active);
    }
  };
  return (
    <tr>
      <td>{user.username}</td>
      {ROLES.map(([role, text]) => (
        <td key={role}>
          <input
            type="checkbox"
            aria-label={`${text} role for ${user.username}`}
            checked={roles.includes(role)}
            disabled={update.pending}
            onChange={() => void change({ roles: roles.includes(role) ? roles.filter((r) => r !== role) : [...roles, role] })}
          />
        </td>
      ))}
      <td>
        <input type="checkbox" aria-label={`${user.username} is active`} checked={active} disabled={update.pending} onChange={() => void change({ is_active: !active })} />
      </td>
      <td aria-live="polite">{update.pending ? "Saving…" : update.error ? <span className="field-error">{describeError(update.error)}</span> : null}</td>
    </tr>
  );
}
