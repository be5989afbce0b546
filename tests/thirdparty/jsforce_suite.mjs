// The jsforce 3 fidelity suite: unmodified jsforce against a running local org.
//
// Run by tests/thirdparty/test_jsforce.py, which starts the org and passes it in the
// environment (SF_INSTANCE_URL, SF_ACCESS_TOKEN, SF_USERNAME, SF_PASSWORD,
// SF_CLIENT_ID, SF_CLIENT_SECRET, SF_API_VERSION, SF_ORG_NOW; NODE_EXTRA_CA_CERTS
// makes Node trust the org's CA). Prints one JSON line per check:
// {"name", "ok", "error"?}. Every check runs, whatever the others did.
import https from 'node:https';
import jsforce from 'jsforce';

const env = process.env;
const instanceUrl = env.SF_INSTANCE_URL;
const version = env.SF_API_VERSION;
const orgNow = new Date(env.SF_ORG_NOW); // the org's (pinned) clock, not this machine's
const tag = `jsf${Date.now().toString(36)}`;

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function tokenConnection(accessToken = env.SF_ACCESS_TOKEN) {
  return new jsforce.Connection({ instanceUrl, accessToken, version });
}

function oauthConnection() {
  return new jsforce.Connection({
    version,
    oauth2: { loginUrl: instanceUrl, clientId: env.SF_CLIENT_ID, clientSecret: env.SF_CLIENT_SECRET },
  });
}

function expireSessions() {
  // The local org's admin path (not Salesforce): every session ends now.
  const auth = Buffer.from(`${env.SF_CLIENT_ID}:${env.SF_CLIENT_SECRET}`).toString('base64');
  return new Promise((resolve, reject) => {
    const request = https.request(`${instanceUrl}/_localorg/sessions/expire`,
      { method: 'POST', headers: { Authorization: `Basic ${auth}` } }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(
          new Error(`expire answered ${response.statusCode}`))));
      });
    request.on('error', reject);
    request.end();
  });
}

async function expectError(promise, code) {
  try {
    await promise;
  } catch (error) {
    const text = `${error.errorCode ?? ''} ${error.name ?? ''} ${error.message ?? ''}`;
    assert(text.includes(code), `expected ${code}, got ${text}`);
    return;
  }
  throw new Error(`expected ${code}, got success`);
}

const checks = {
  async login_soap_username_password() {
    const conn = new jsforce.Connection({ loginUrl: instanceUrl, version });
    const info = await conn.login(env.SF_USERNAME, env.SF_PASSWORD);
    assert(info.organizationId.startsWith('00D'), 'org id');
    const result = await conn.query('SELECT Id FROM Organization');
    assert(result.records[0].Id === info.organizationId, 'organization record');
  },
  async login_oauth2_password() {
    const conn = oauthConnection();
    const info = await conn.login(env.SF_USERNAME, env.SF_PASSWORD);
    assert(info.id.startsWith('005'), 'user id');
    assert((await conn.limits()).DailyApiRequests.Max > 0, 'limits');
  },
  async login_oauth2_client_credentials() {
    const conn = oauthConnection();
    await conn.authorize({ grant_type: 'client_credentials' });
    assert(conn.accessToken, 'token');
  },
  async identity_on_a_token_only_connection() {
    const identity = await tokenConnection().identity();
    assert(identity.user_id.startsWith('005'), 'user id');
    assert(identity.organization_id.startsWith('00D'), 'org id');
  },
  async query_query_more_and_auto_fetch() {
    const conn = tokenConnection();
    const rows = Array.from({ length: 450 }, (_, i) => ({ Name: `${tag} page ${i}` }));
    for (let i = 0; i < rows.length; i += 200) {
      const saved = await conn.sobject('Account').create(rows.slice(i, i + 200), { allOrNone: true });
      assert(saved.every((r) => r.success), 'collections create');
    }
    const soql = `SELECT Id, Name FROM Account WHERE Name LIKE '${tag} page %'`;
    const headers = { 'Sforce-Query-Options': 'batchSize=200' };
    const first = await conn.query(soql, { headers });
    assert(first.totalSize === 450 && !first.done && first.records.length === 200, 'first page');
    const second = await conn.queryMore(first.nextRecordsUrl, { headers });
    assert(second.records.length === 200, 'second page');
    const all = await conn.query(soql, { autoFetch: true, maxFetch: 1000, headers });
    assert(all.records.length === 450, `autoFetch got ${all.records.length}`);
  },
  async crud_single_records() {
    const accounts = tokenConnection().sobject('Account');
    const created = await accounts.create({ Name: `${tag} crud`, Rating: 'Warm', ShippingCity: 'Oslo' });
    assert(created.success, 'create');
    const record = await accounts.retrieve(created.id);
    assert(record.ShippingCity === 'Oslo', 'retrieve');
    await accounts.update({ Id: created.id, Rating: 'Hot' });
    assert((await accounts.retrieve(created.id)).Rating === 'Hot', 'update');
    await accounts.destroy(created.id);
    await expectError(accounts.retrieve(created.id), 'ENTITY_IS_DELETED');
  },
  async upsert_on_an_id_lookup_field() {
    const contacts = tokenConnection().sobject('Contact');
    const email = `${tag}@upsert.example`;
    const created = await contacts.upsert({ Email: email, LastName: 'First' }, 'Email');
    const updated = await contacts.upsert({ Email: email, LastName: 'Second' }, 'Email');
    assert(created.created === true && updated.created === false, JSON.stringify([created, updated]));
  },
  async collections_create_retrieve_update_delete() {
    const accounts = tokenConnection().sobject('Account');
    const saved = await accounts.create([{ Name: `${tag} c1` }, { Name: `${tag} c2` }]);
    const ids = saved.map((r) => r.id);
    const got = await accounts.retrieve(ids);
    assert(got.length === 2 && got[0].Name === `${tag} c1`, 'retrieve');
    const updated = await accounts.update(ids.map((Id) => ({ Id, Site: 'coll' })));
    assert(updated.every((r) => r.success), 'update');
    const removed = await accounts.destroy(ids);
    assert(removed.every((r) => r.success), 'destroy');
  },
  async composite_with_references() {
    const conn = tokenConnection();
    const body = await conn.request({
      method: 'POST', url: '/composite', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ allOrNone: true, compositeRequest: [
        { method: 'POST', url: `/services/data/v${version}/sobjects/Account`, referenceId: 'acc',
          body: { Name: `${tag} composite` } },
        { method: 'GET', url: `/services/data/v${version}/sobjects/Account/@{acc.id}`, referenceId: 'get' },
      ] }),
    });
    assert(body.compositeResponse[1].body.Name === `${tag} composite`, JSON.stringify(body));
  },
  async composite_tree() {
    const conn = tokenConnection();
    const body = await conn.request({
      method: 'POST', url: '/composite/tree/Account', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ records: [{ attributes: { type: 'Account', referenceId: 'a1' },
        Name: `${tag} tree`, Contacts: { records: [
          { attributes: { type: 'Contact', referenceId: 'c1' }, LastName: 'Leaf' }] } }] }),
    });
    assert(body.hasErrors === false && body.results.length === 2, JSON.stringify(body));
  },
  async describe_global_object_layouts_and_list_views() {
    const conn = tokenConnection();
    const global = await conn.describeGlobal();
    assert(global.sobjects.some((s) => s.name === 'Organization'), 'global');
    const account = await conn.sobject('Account').describe();
    assert(account.fields.some((f) => f.name === 'ShippingCity'), 'fields');
    const layouts = await conn.sobject('Account').layouts();
    assert(layouts.layouts.length === 1, 'layouts');
    const views = await conn.sobject('Account').listviews();
    const view = conn.sobject('Account').listview(views.listviews[0].id);
    const described = await view.describe();
    assert(described.query.startsWith('SELECT'), 'list view describe');
    const results = await view.results();
    assert(Array.isArray(results.records), 'list view results');
  },
  async limits() {
    const limits = await tokenConnection().limits();
    assert(limits.DailyApiRequests.Remaining <= limits.DailyApiRequests.Max, 'limits');
  },
  async updated_and_deleted() {
    const accounts = tokenConnection().sobject('Account');
    const kept = await accounts.create({ Name: `${tag} replicated` });
    const gone = await accounts.create({ Name: `${tag} gone` });
    await accounts.destroy(gone.id);
    const start = new Date(orgNow.getTime() - 3600e3);
    const end = new Date(orgNow.getTime() + 3600e3);
    const updated = await accounts.updated(start, end);
    assert(updated.ids.includes(kept.id), 'updated');
    const deleted = await accounts.deleted(start, end);
    assert(deleted.deletedRecords.some((r) => r.id === gone.id), 'deleted');
  },
  async sosl_search() {
    const conn = tokenConnection();
    await conn.sobject('Account').create({ Name: `${tag} Searchable` });
    const result = await conn.search(`FIND {${tag}} IN NAME FIELDS RETURNING Account(Id, Name)`);
    assert(result.searchRecords.some((r) => r.Name === `${tag} Searchable`), JSON.stringify(result));
  },
  async recent_items() {
    const conn = tokenConnection();
    const created = await conn.sobject('Account').create({ Name: `${tag} recent` });
    const items = await conn.recent(5);
    assert(items.some((r) => r.Id === created.id), JSON.stringify(items));
    const accounts = await conn.recent('Account', 5);  // sobjects/Account recentItems
    assert(accounts.some((r) => r.Id === created.id), JSON.stringify(accounts));
  },
  async query_explain() {
    const plan = await tokenConnection().query('SELECT Id FROM Account').explain();
    assert(plan.plans[0].sobjectType === 'Account', JSON.stringify(plan));
  },
  async malformed_id() {
    const accounts = tokenConnection().sobject('Account');
    const created = await accounts.create({ Name: `${tag} suffix` });
    const wrong = created.id.slice(0, 15) + (created.id.endsWith('ZZZ') ? 'AAB' : 'ZZZ');
    await expectError(accounts.retrieve(wrong), 'MALFORMED_ID');
  },
  async bulk2_ingest() {
    const conn = tokenConnection();
    conn.bulk2.pollInterval = 100;
    const records = Array.from({ length: 30 }, (_, i) => ({ Name: `${tag} bulk ${i}` }));
    const results = await conn.bulk2.loadAndWaitForResults({
      object: 'Account', operation: 'insert', input: records, pollInterval: 100, pollTimeout: 60000 });
    assert(results.successfulResults.length === 30, JSON.stringify(results).slice(0, 300));
    const upserted = await conn.bulk2.loadAndWaitForResults({
      object: 'Account', operation: 'upsert', externalIdFieldName: 'Id',
      input: [{ Name: `${tag} bulk upsert` }], pollInterval: 100, pollTimeout: 60000 });
    assert(upserted.successfulResults.length === 1, 'upsert on Id without an Id column');
  },
  async bulk2_query() {
    const conn = tokenConnection();
    conn.bulk2.pollInterval = 100;
    const stream = await conn.bulk2.query(`SELECT Id, Name FROM Account WHERE Name LIKE '${tag} bulk %'`,
      { pollInterval: 100, pollTimeout: 60000 });
    const rows = await stream.toArray();
    assert(rows.length >= 30, `bulk query got ${rows.length}`);
  },
  async session_expiry_and_refresh() {
    const conn = new jsforce.Connection({ loginUrl: instanceUrl, version });
    await conn.login(env.SF_USERNAME, env.SF_PASSWORD);
    const before = conn.accessToken;
    await expireSessions();
    const result = await conn.query('SELECT COUNT() FROM Account');
    assert(result.totalSize >= 0 && conn.accessToken !== before, 'refreshed by logging in again');
  },
  async logout_soap_ends_the_session() {
    const conn = new jsforce.Connection({ loginUrl: instanceUrl, version });
    await conn.login(env.SF_USERNAME, env.SF_PASSWORD);
    const token = conn.accessToken;
    await conn.logout();
    await expectError(tokenConnection(token).limits(), 'INVALID_SESSION_ID');
  },
  async logout_oauth2_revokes_the_token() {
    const conn = oauthConnection();
    await conn.authorize({ grant_type: 'client_credentials' });
    const token = conn.accessToken;
    await conn.logout();
    await expectError(tokenConnection(token).limits(), 'INVALID_SESSION_ID');
  },
};

const only = process.argv.slice(2);
for (const [name, check] of Object.entries(checks)) {
  if (only.length && !only.includes(name)) continue;
  try {
    await check();
    console.log(JSON.stringify({ name, ok: true }));
  } catch (error) {
    console.log(JSON.stringify({ name, ok: false, error: String(error?.stack ?? error).slice(0, 2000) }));
  }
}
