// Shared by the scripts in www/e2e.

/** Registers a new user, `prefix` and a random suffix, at the ferrysync-server `base`; resolves
 * with its token. Throws unless the server answers 201. */
export async function register(base, prefix) {
  const username = prefix + Math.random().toString(36).slice(2);
  const res = await fetch(`${base}/api/auth/register`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse" }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}
