"""agent connections: one row per open agents' console socket and the hub holding it,
heartbeated; presence comes from live rows instead of a fleet-wide reset at boot

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agent_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.String(length=64), nullable=False),
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection_id')
    )
    with op.batch_alter_table('agent_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_connections_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_connections_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_connections_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agent_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_connections_expires_at'))
        batch_op.drop_index(batch_op.f('ix_agent_connections_hub_id'))
        batch_op.drop_index(batch_op.f('ix_agent_connections_agent_id'))
    op.drop_table('agent_connections')
