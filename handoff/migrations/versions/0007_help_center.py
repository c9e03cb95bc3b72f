"""help center: per-day views and "Was this article helpful?" answers per article; the
history of knowledge-base articles edited in the console

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 01:25:00 (renumbered after 0006_language_source)
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('help_article_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.String(length=200), nullable=False),
    sa.Column('lang', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.Column('helpful', sa.Integer(), nullable=False),
    sa.Column('not_helpful', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('article_id', 'lang', 'day')
    )
    with op.batch_alter_table('help_article_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_help_article_days_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_article_days_day'), ['day'], unique=False)
    op.create_table('kb_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.String(length=200), nullable=False),
    sa.Column('lang', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('text_before', sa.Text(), nullable=True),
    sa.Column('text_after', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['agents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kb_revisions', schema=None) as batch_op:
        batch_op.create_index('ix_kb_revisions_article', ['article_id', 'lang', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kb_revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_revisions_article')
    op.drop_table('kb_revisions')
    with op.batch_alter_table('help_article_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_help_article_days_day'))
        batch_op.drop_index(batch_op.f('ix_help_article_days_article_id'))
    op.drop_table('help_article_days')
