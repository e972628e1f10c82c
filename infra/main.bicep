// auditbot in a council's Azure subscription: one resource group, no secrets.
//
// A user-assigned managed identity is the bot (Azure Bot, msaAppType UserAssignedMSI), signs
// in to PostgreSQL (Microsoft Entra authentication, no password) and pulls the image. The
// service runs on Azure Container Apps (several replicas are safe: migrations run once, under
// a lock, in the migration job; one replica at a time sends Teams messages), its logs go to
// Log Analytics and its traces and metrics to Application Insights (on the same workspace),
// and Key Vault (private: no public network access) holds whatever secret a council still
// needs.
//
// Deploy: README, "Deploying". Parameters: main.parameters.json. Linted by checkov (.ci/run).

targetScope = 'resourceGroup'

@description('A short lower-case name the resources are named from, e.g. auditbot-th.')
@minLength(3)
@maxLength(20)
param name string

@description('Where the resources go (the Azure Bot itself is global).')
param location string = resourceGroup().location

@description('The image to run, e.g. myregistry.azurecr.io/auditbot:1.4.0 (az acr build pushes it).')
param image string = ''

@description('The Entra tenant the council\'s Teams users are in.')
param tenantId string = subscription().tenantId

@description('Replicas of the service (1 to 10); they share the database.')
@minValue(1)
@maxValue(10)
param replicas int = 2

@description('PostgreSQL compute, e.g. Standard_B2s (burstable) or Standard_D2ds_v5.')
param postgresSku string = 'Standard_B2s'

@description('PostgreSQL SKU tier matching postgresSku: Burstable, GeneralPurpose or MemoryOptimized.')
param postgresTier string = 'Burstable'

@description('Days of point-in-time restore PostgreSQL keeps (7 to 35).')
@minValue(7)
@maxValue(35)
param backupRetentionDays int = 35

@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 90

@description('Microsoft Graph as the managed identity (UoPP bookings, Entra sync): true once an administrator has granted it the application permissions in the README.')
param graphManagedIdentity bool = false

@description('The Entra groups mapping (TOML text, README "People from Microsoft Entra ID"); empty: no nightly sync job.')
param entraMapping string = ''

@description('When the Entra sync job runs (cron, UTC); at least weekly, as Graph keeps a delta link seven days.')
param entraSyncSchedule string = '30 1 * * *'

var suffix = uniqueString(resourceGroup().id, name)
var databaseName = 'auditbot'
var appName = '${name}-app'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-identity'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${name}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: logRetentionDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${name}-kv-${suffix}', 24)
  location: location
  properties: {
    tenantId: tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Disabled'
    networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' }
  }
}

// Key Vault Secrets User for the identity: the service reads, never writes, secrets.
resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, 'secrets-user')
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
  }
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_166: quarantine needs the Premium tier; images come only from `az acr build` of this repository
  // checkov:skip=CKV_AZURE_139: private endpoints need Premium and a virtual network; pulls are by managed identity only (admin user off)
  name: take(replace('${name}acr${suffix}', '-', ''), 50)
  location: location
  sku: { name: 'Standard' }
  properties: {
    adminUserEnabled: false
  }
}

// AcrPull for the identity: the container app pulls its image as the managed identity.
resource registryPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, identity.id, 'acr-pull')
  scope: registry
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2023-06-01-preview' = {
  name: '${name}-pg-${suffix}'
  location: location
  sku: { name: postgresSku, tier: postgresTier }
  properties: {
    version: '16'
    storage: { storageSizeGB: 32, autoGrow: 'Enabled' }
    backup: { backupRetentionDays: backupRetentionDays, geoRedundantBackup: 'Enabled' }
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenantId
    }
    highAvailability: { mode: 'Disabled' }
  }
}

// The managed identity is the database's Entra administrator: the migration job creates the
// schema as it, and the service connects as it, with a token for a password.
resource postgresAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2023-06-01-preview' = {
  parent: postgres
  name: identity.properties.principalId
  properties: {
    principalName: identity.name
    principalType: 'ServicePrincipal'
    tenantId: tenantId
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2023-06-01-preview' = {
  parent: postgres
  name: databaseName
  properties: { charset: 'UTF8', collation: 'en_US.utf8' }
}

resource requireTls 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2023-06-01-preview' = {
  parent: postgres
  name: 'require_secure_connection'
  properties: { value: 'on', source: 'user-override' }
}

resource logConnections 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2023-06-01-preview' = {
  parent: postgres
  name: 'log_connections'
  properties: { value: 'on', source: 'user-override' }
}

// Container Apps reach the server over Azure's network (no public client access otherwise).
resource azureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2023-06-01-preview' = {
  parent: postgres
  name: 'AllowAzureServices'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource environment 'Microsoft.App/managedEnvironments@2023-05-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

var settings = [
  { name: 'AUDITBOT_APP_ID', value: identity.properties.clientId }
  { name: 'AUDITBOT_APP_TYPE', value: 'UserAssignedMSI' }
  { name: 'AUDITBOT_TENANT_ID', value: tenantId }
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  {
    name: 'AUDITBOT_DATABASE_URL'
    value: 'postgresql://${identity.name}@${postgres.properties.fullyQualifiedDomainName}/${databaseName}?sslmode=require&azure_entra=managed_identity'
  }
  { name: 'AUDITBOT_LOG_FORMAT', value: 'json' }
  { name: 'AUDITBOT_GRAPH_MANAGED_IDENTITY', value: string(graphManagedIdentity) }
  // Traces and metrics to Application Insights (telemetry/otel.py).
  { name: 'AUDITBOT_TELEMETRY', value: 'azure_monitor' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
]

var runImage = empty(image) ? 'mcr.microsoft.com/k8se/quickstart:latest' : image

resource app 'Microsoft.App/containerApps@2023-05-01' = {
  name: appName
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      ingress: {
        external: true
        targetPort: 3978
        transport: 'http'
        allowInsecure: false
      }
      registries: [
        { server: registry.properties.loginServer, identity: identity.id }
      ]
    }
    template: {
      containers: [
        {
          name: 'auditbot'
          image: runImage
          resources: { cpu: json('1.0'), memory: '2Gi' }
          env: settings
          probes: [
            {
              type: 'Liveness'
              httpGet: { path: '/healthz', port: 3978 }
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: { path: '/healthz', port: 3978 }
              periodSeconds: 10
            }
          ]
        }
      ]
      scale: { minReplicas: replicas, maxReplicas: replicas }
    }
  }
  dependsOn: [ registryPull, postgresAdmin, database ]
}

// The migration job: `auditbot db upgrade`, started by the deploy (m365agents.yml) before the
// new image goes live; the service runs `serve --no-migrate`.
resource migrate 'Microsoft.App/jobs@2023-05-01' = {
  name: '${name}-migrate'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    environmentId: environment.id
    configuration: {
      triggerType: 'Manual'
      replicaTimeout: 1800
      replicaRetryLimit: 1
      manualTriggerConfig: { parallelism: 1, replicaCompletionCount: 1 }
      registries: [
        { server: registry.properties.loginServer, identity: identity.id }
      ]
    }
    template: {
      containers: [
        {
          name: 'migrate'
          image: runImage
          command: [ 'auditbot', 'db', 'upgrade' ]
          resources: { cpu: json('0.5'), memory: '1Gi' }
          env: settings
        }
      ]
    }
  }
  dependsOn: [ registryPull, postgresAdmin, database ]
}

// Nightly: staff, roles and leavers from Entra ID (`auditbot sync entra`), the mapping
// mounted from the job's own secret store as a file.
resource entraSync 'Microsoft.App/jobs@2023-05-01' = if (!empty(entraMapping)) {
  name: '${name}-entra-sync'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    environmentId: environment.id
    configuration: {
      triggerType: 'Schedule'
      replicaTimeout: 1800
      replicaRetryLimit: 1
      scheduleTriggerConfig: { cronExpression: entraSyncSchedule, parallelism: 1, replicaCompletionCount: 1 }
      registries: [
        { server: registry.properties.loginServer, identity: identity.id }
      ]
      secrets: [ { name: 'entra-mapping', value: entraMapping } ]
    }
    template: {
      containers: [
        {
          name: 'entra-sync'
          image: runImage
          command: [ 'auditbot', 'sync', 'entra', '--mapping', '/etc/auditbot/entra.toml' ]
          resources: { cpu: json('0.5'), memory: '1Gi' }
          env: settings
          volumeMounts: [ { volumeName: 'mapping', mountPath: '/etc/auditbot' } ]
        }
      ]
      volumes: [
        {
          name: 'mapping'
          storageType: 'Secret'
          secrets: [ { secretRef: 'entra-mapping', path: 'entra.toml' } ]
        }
      ]
    }
  }
  dependsOn: [ registryPull, postgresAdmin, database ]
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${name}-bot'
  location: 'global'
  kind: 'azurebot'
  sku: { name: 'S1' }
  properties: {
    displayName: 'auditbot'
    endpoint: 'https://${app.properties.configuration.ingress.fqdn}/api/messages'
    msaAppId: identity.properties.clientId
    msaAppType: 'UserAssignedMSI'
    msaAppMSIResourceId: identity.id
    msaAppTenantId: tenantId
    disableLocalAuth: true
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: { isEnabled: true }
  }
}

output BOT_ID string = identity.properties.clientId
output BOT_DOMAIN string = app.properties.configuration.ingress.fqdn
output CONTAINER_APP_NAME string = app.name
output MIGRATION_JOB_NAME string = migrate.name
output REGISTRY_NAME string = registry.name
output REGISTRY_LOGIN_SERVER string = registry.properties.loginServer
output POSTGRES_HOST string = postgres.properties.fullyQualifiedDomainName
output KEY_VAULT_NAME string = vault.name
output IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
